import { ConfigError } from './config';
import { eventStoreOptionsFromEnv } from './event-store-config';

describe('eventStoreOptionsFromEnv', () => {
  it('keeps SQLite at EVENT_STORE_PATH by default', () => {
    expect(eventStoreOptionsFromEnv({})).toEqual({ path: '.executor/events.sqlite', synchronous: 'NORMAL' });
    expect(
      eventStoreOptionsFromEnv({ EVENT_STORE_PATH: '/data/e.sqlite', EVENT_STORE_SYNCHRONOUS: 'FULL' }),
    ).toEqual({ path: '/data/e.sqlite', synchronous: 'FULL' });
  });

  it('lets a postgres:// or postgresql:// EVENT_STORE_URL win over the path', () => {
    for (const url of ['postgres://u:p@127.0.0.1:5432/db', 'postgresql://127.0.0.1/db']) {
      expect(eventStoreOptionsFromEnv({ EVENT_STORE_URL: url, EVENT_STORE_PATH: '/data/e.sqlite' })).toEqual({
        url,
      });
    }
  });

  it('refuses any other scheme, without repeating the URL', () => {
    for (const url of ['mysql://u:secret@h/db', 'sqlite:///tmp/x', '/tmp/events.sqlite', 'postgres:/x']) {
      let err: unknown;
      try {
        eventStoreOptionsFromEnv({ EVENT_STORE_URL: url });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('EVENT_STORE_URL must be a postgres:// or postgresql:// URL');
      expect((err as Error).message).not.toContain('secret');
    }
  });
});
