/**
 * The process logger: pino, JSON by default or human-readable text (pino-pretty, written
 * synchronously from this thread), with the configured static fields on every line and
 * credentials redacted wherever they might appear.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogConfig } from '../config/types.js';

/** Paths of fields that must never reach a log line. */
const redact = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'password',
  'secret',
  'http.secret',
];

/** Builds the logger for a configuration's `log` section. */
export function createLogger(config: LogConfig, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level: config.level,
    base: { ...config.fields },
    redact: { paths: redact, censor: '[redacted]' },
  };
  if (config.formatter === 'text') {
    const stream = pretty({ colorize: false, sync: true, destination: destination ?? 1 });
    return pino(options, stream);
  }
  return destination === undefined ? pino(options) : pino(options, destination);
}
