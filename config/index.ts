export { type Config, ConfigError, type EnvInput, envSchema, type HttpLimits, loadConfig } from './env.ts';
