/** Response shapes of the AIML API video endpoints, tolerant where the vendor varies. */
import { z } from 'zod';

const id = z.union([z.string().min(1), z.number()]).transform(String);

export const generationSchema = z.object({
  id,
  status: z.string().optional(),
  video: z.object({ url: z.string().min(1) }).nullish(),
  error: z.object({ name: z.string().optional(), message: z.string().optional() }).nullish(),
  meta: z.object({ usage: z.object({ credits_used: z.coerce.number().optional() }).nullish() }).nullish(),
});
export type Generation = z.infer<typeof generationSchema>;

/** Status words: the schema's, the vendor samples' and a real 2026 example's. */
export const DONE_WORDS = new Set(['completed', 'succeeded', 'success', 'done']);
export const FAILED_WORDS = new Set(['error', 'failed', 'failure', 'cancelled', 'canceled', 'expired']);
export const QUEUED_WORDS = new Set(['queued', 'waiting', 'pending', 'submitted']);
export const RUNNING_WORDS = new Set(['generating', 'active', 'processing', 'running', 'in_progress']);
