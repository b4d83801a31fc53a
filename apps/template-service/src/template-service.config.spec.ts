import { ConfigError, loadConfig } from '@executor/common';
import { TemplateServiceConfig } from './template-service.config';

describe('TemplateServiceConfig caps', () => {
  it('has defaults every built-in fits in', () => {
    expect(loadConfig(TemplateServiceConfig, {})).toMatchObject({
      MAX_TEMPLATE_MEMORY: '4g',
      MAX_TEMPLATE_CPUS: 4,
      MAX_TEMPLATE_PIDS: 512,
      MAX_TIMEOUT_S: 300,
      MAX_TEMPLATES_PER_TENANT: 50,
    });
  });

  it('reads the caps from the environment', () => {
    const c = loadConfig(TemplateServiceConfig, {
      MAX_TEMPLATE_MEMORY: '1536m',
      MAX_TEMPLATE_CPUS: '0.5',
      MAX_TEMPLATE_PIDS: '64',
      MAX_TIMEOUT_S: '60',
    });
    expect(c).toMatchObject({
      MAX_TEMPLATE_MEMORY: '1536m',
      MAX_TEMPLATE_CPUS: 0.5,
      MAX_TEMPLATE_PIDS: 64,
      MAX_TIMEOUT_S: 60,
    });
  });

  it.each([
    ['MAX_TEMPLATE_MEMORY', 'lots'],
    ['MAX_TEMPLATE_MEMORY', '0g'],
    ['MAX_TEMPLATE_CPUS', '0'],
    ['MAX_TEMPLATE_CPUS', 'many'],
    ['MAX_TEMPLATE_PIDS', '4'],
    ['MAX_TEMPLATE_PIDS', '1.5'],
    ['MAX_TIMEOUT_S', '3601'],
    ['MAX_TEMPLATES_PER_TENANT', '-1'],
  ])('refuses %s=%s at start, naming it', (name, value) => {
    expect(() => loadConfig(TemplateServiceConfig, { [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig(TemplateServiceConfig, { [name]: value })).toThrow(name);
  });
});
