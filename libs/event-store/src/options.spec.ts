import { describeStore, eventStoreOptions } from './options';

describe('eventStoreOptions', () => {
  const settings = {
    EVENT_STORE_URL: '',
    EVENT_STORE_PATH: '/data/e.sqlite',
    EVENT_STORE_SYNCHRONOUS: 'FULL' as const,
  };
  it('chooses SQLite at the path unless a URL is set, and PostgreSQL then', () => {
    expect(eventStoreOptions(settings)).toEqual({ path: '/data/e.sqlite', synchronous: 'FULL' });
    expect(eventStoreOptions({ ...settings, EVENT_STORE_URL: 'postgres://h/db' })).toEqual({
      url: 'postgres://h/db',
    });
  });
});

describe('describeStore', () => {
  it('names the store for a log line and never shows the password', () => {
    expect(describeStore({ path: '.executor/events.sqlite' })).toBe('SQLite at .executor/events.sqlite');
    const line = describeStore({ url: 'postgres://executor:s3cret@127.0.0.1:55432/executor' });
    expect(line).toBe('PostgreSQL at postgres://executor:***@127.0.0.1:55432/executor');
    expect(describeStore({ url: 'postgres://127.0.0.1/db' })).toBe('PostgreSQL at postgres://127.0.0.1/db');
    expect(describeStore({ url: 'postgres://u:s3cret@[bad' })).not.toContain('s3cret');
  });
});
