import { describe, expect, it } from 'vitest';
import { QueueConnectionError, queueUrl, redactUrl } from './queue-connection.js';

describe('the queue URL', () => {
  it('never shows credentials', () => {
    expect(redactUrl('redis://user:pa55@host:6379/2')).toBe('redis://***:***@host:6379/2');
    expect(redactUrl('rediss://:pa55@host:6380')).toBe('rediss://:***@host:6380');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
    expect(redactUrl('not a url with pa55')).toBe('<the queue URL>');
  });

  it('comes from --queue, else ARMPRIOR_QUEUE_URL, and must be redis:// or rediss://', () => {
    expect(queueUrl('redis://a:1', { ARMPRIOR_QUEUE_URL: 'redis://b:2' })).toBe('redis://a:1');
    expect(queueUrl(undefined, { ARMPRIOR_QUEUE_URL: 'rediss://b:2' })).toBe('rediss://b:2');
    expect(() => queueUrl(undefined, {})).toThrow(
      /no queue given: pass --queue redis:\/\/host:6379 or set ARMPRIOR_QUEUE_URL/,
    );
    expect(() => queueUrl('http://:secret@host', {})).toThrow(
      'http://:***@host: the queue must be a redis:// or rediss:// (TLS) URL, not http://',
    );
    expect(() => queueUrl('::::secret', {})).toThrow(QueueConnectionError);
    expect(() => queueUrl('::::secret', {})).not.toThrow(/secret/);
  });
});
