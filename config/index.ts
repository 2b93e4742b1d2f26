export { type Config, ConfigError, type EnvInput, envSchema, loadConfig } from './env.ts';
