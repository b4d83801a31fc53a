import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A process's prom-client registry: the default process and Node.js runtime metrics, and
 * every series labelled with the service and the process (`instance`), so the series of
 * several processes stay apart once merged.
 */
export function serviceRegistry(service: string, instance = `${hostname()}:${process.pid}`): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service, instance });
  collectDefaultMetrics({ register: registry });
  return registry;
}
