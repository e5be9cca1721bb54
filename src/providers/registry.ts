/**
 * Providers register themselves. Each provider folder exports one
 * {@link ProviderPlugin} (its name, label, config keys, secrets, catalogue entries
 * and factory) from its `index.ts`; src/providers/index.ts lists them. config.ts
 * and app.ts only loop over a registry, and the core never imports a provider:
 * it learns each provider's label through {@link registerProviderLabel}.
 *
 * Adding a provider = one new folder under src/providers/ + one line in
 * src/providers/index.ts. Tests may pass their own registry to loadConfig and
 * createApp (see test/providers/registry.test.ts).
 */
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { ModelSpec } from '../core/catalogue.js';
import { registerProviderLabel } from '../core/errors.js';
import type { VideoProvider } from '../core/ports.js';

/** What the app hands every provider factory. */
export interface ProviderDeps {
  /** The shared HTTP dispatcher (proxy settings, keep-alive). */
  dispatcher: Dispatcher;
}

/** A plugin's own configuration: the parsed values of its `configShape`. */
export type PluginConfig<S extends z.ZodRawShape> = z.output<z.ZodObject<S>>;

export interface ProviderPlugin<S extends z.ZodRawShape = z.ZodRawShape> {
  /** Stable id: the `provider` of its catalogue entries, job records and errors (`aimlapi`). */
  readonly name: string;
  /** What users and operators read (`AIML API`): in errors, validation and lifecycle messages. */
  readonly label: string;
  /** Its environment keys, as zod fields with their defaults (see src/config-fields.ts). */
  readonly configShape: S;
  /** Keys of `configShape` that hold secrets: masked in every log line and redacted by path. */
  readonly secretKeys: readonly (keyof S & string)[];
  /** How the "no provider configured" message offers it, e.g. `AIMLAPI_KEY (Seedance 1.0, 1.5 and 2.x)`. */
  readonly describe?: string;
  /**
   * Its catalogue entries (every `provider` equal to `name`). Static, not a function of the
   * config: the catalogue names models of unconfigured providers in its messages
   * ("lite text-to-video needs an AIML API key").
   */
  readonly models: readonly ModelSpec[];
  /** Whether this configuration can use it (usually: its key is set). */
  configured(config: PluginConfig<S>): boolean;
  /** Builds the provider; called only when `configured`. */
  create(config: PluginConfig<S>, deps: ProviderDeps): VideoProvider;
}

/** Any plugin, its config type erased: what a registry holds and the app calls. */
export interface AnyProviderPlugin {
  readonly name: string;
  readonly label: string;
  readonly configShape: z.ZodRawShape;
  readonly secretKeys: readonly string[];
  readonly describe?: string;
  readonly models: readonly ModelSpec[];
  configured(config: Readonly<Record<string, unknown>>): boolean;
  create(config: Readonly<Record<string, unknown>>, deps: ProviderDeps): VideoProvider;
}

/** The providers a process knows about, in default preference order. */
export type ProviderRegistry = readonly AnyProviderPlugin[];

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The configuration keys a registry adds to the base config (typed for a tuple of plugins). */
export type RegistryConfig<R extends ProviderRegistry> = UnionToIntersection<
  { [K in keyof R]: R[K] extends ProviderPlugin<infer S> ? PluginConfig<S> : never }[number]
>;

/** Identity with inference: `defineProvider({ … })` keeps the plugin's config typed. */
export function defineProvider<S extends z.ZodRawShape>(plugin: ProviderPlugin<S>): ProviderPlugin<S> {
  return plugin;
}

/**
 * Checks a registry (unique names and keys, models owned by their plugin) and registers
 * its labels with the core. Returns it unchanged, tuple type included.
 */
export function defineRegistry<const R extends ProviderRegistry>(registry: R): R {
  const names = new Set<string>();
  const keys = new Map<string, string>();
  for (const p of registry) {
    if (!/^[a-z][a-z0-9-]*$/.test(p.name)) throw new Error(`provider name "${p.name}" must be lower-case letters, digits and dashes`);
    if (names.has(p.name)) throw new Error(`two providers are named "${p.name}"`);
    names.add(p.name);
    for (const key of Object.keys(p.configShape)) {
      const owner = keys.get(key);
      if (owner) throw new Error(`config key ${key} is claimed by both ${owner} and ${p.name}`);
      keys.set(key, p.name);
    }
    for (const key of p.secretKeys) if (!(key in p.configShape)) throw new Error(`${p.name}: secret key ${key} is not one of its config keys`);
    for (const m of p.models) if (m.provider !== p.name) throw new Error(`${p.name}: model ${m.id} names provider "${m.provider}"`);
  }
  registerLabels(registry);
  return registry;
}

/** Tells the core each provider's label (idempotent). */
export function registerLabels(registry: ProviderRegistry): void {
  for (const p of registry) registerProviderLabel(p.name, p.label);
}

/** Every plugin's config fields, merged (for the config schema). */
export function registryConfigShape(registry: ProviderRegistry): z.ZodRawShape {
  return Object.assign({}, ...registry.map((p) => p.configShape)) as z.ZodRawShape;
}

/** Every plugin's catalogue entries, in registry order. */
export function registryModels(registry: ProviderRegistry): ModelSpec[] {
  return registry.flatMap((p) => p.models);
}

/** Every plugin's secret config keys. */
export function registrySecretKeys(registry: ProviderRegistry): string[] {
  return registry.flatMap((p) => p.secretKeys);
}

/** Names of the providers this configuration can use, in registry order. */
export function configuredProviders(registry: ProviderRegistry, config: object): string[] {
  return registry.filter((p) => p.configured(config as Readonly<Record<string, unknown>>)).map((p) => p.name);
}

/** Builds every configured provider. */
export function createRegisteredProviders(registry: ProviderRegistry, config: object, deps: ProviderDeps): Record<string, VideoProvider> {
  const providers: Record<string, VideoProvider> = {};
  for (const p of registry) {
    const c = config as Readonly<Record<string, unknown>>;
    if (p.configured(c)) providers[p.name] = p.create(c, deps);
  }
  return providers;
}

/** The start-up problem when no provider is configured: offers each plugin's key. */
export function missingProviderMessage(registry: ProviderRegistry): string {
  const offers = registry.map((p) => p.describe ?? p.secretKeys[0] ?? p.name);
  const either = offers.length <= 1 ? (offers[0] ?? 'a provider key') : `${offers.slice(0, -1).join(', ')} or ${offers[offers.length - 1]}`;
  return `set ${either}, in the environment or in .env`;
}

/**
 * Provider order for models more than one provider serves: the operator's list first,
 * then the rest in registry order. Unknown names are ignored (config rejects them).
 */
export function providerPreference(registry: ProviderRegistry, first: readonly string[]): string[] {
  const names = registry.map((p) => p.name);
  return [...new Set([...first.filter((n) => names.includes(n)), ...names])];
}
