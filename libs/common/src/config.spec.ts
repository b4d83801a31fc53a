import { BaseConfig, ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('uses defaults when the environment is silent', () => {
    const c = loadConfig(BaseConfig, {});
    expect(c.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(c.RPC_TIMEOUT_MS).toBe(5000);
  });

  it('reads and converts values from the environment', () => {
    const c = loadConfig(BaseConfig, { RPC_TIMEOUT_MS: '1500', NATS_URL: 'nats://127.0.0.1:4333' });
    expect(c.RPC_TIMEOUT_MS).toBe(1500);
    expect(c.NATS_URL).toBe('nats://127.0.0.1:4333');
  });

  it('refuses a bad value and names it', () => {
    expect(() => loadConfig(BaseConfig, { RPC_TIMEOUT_MS: 'soon' })).toThrow(ConfigError);
    expect(() => loadConfig(BaseConfig, { EVENT_STORE_SYNCHRONOUS: 'OFF' })).toThrow(
      'EVENT_STORE_SYNCHRONOUS',
    );
  });
});
