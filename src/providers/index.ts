/**
 * The built-in providers. A new provider is one folder under src/providers/ whose
 * index.ts exports a plugin (see registry.ts), plus one entry here.
 */
import { aimlapi } from './aimlapi/index.js';
import { defineRegistry, registryModels } from './registry.js';
import { segmind } from './segmind/index.js';

/** In default preference order (PROVIDER_PREFERENCE / LITE_I2V_PROVIDER reorder it). */
export const BUILTIN_PROVIDERS = defineRegistry([aimlapi, segmind]);

/** The built-in providers' catalogue entries. */
export const BUILTIN_MODELS = registryModels(BUILTIN_PROVIDERS);

export type { AnyProviderPlugin, ProviderDeps, ProviderPlugin, ProviderRegistry, RegistryConfig } from './registry.js';
