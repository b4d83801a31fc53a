import Docker from 'dockerode';
import type { RunnerConfig } from '../runner.config';

export const DOCKER = Symbol('DOCKER');

export function createDocker(config: RunnerConfig): Docker {
  return new Docker({ socketPath: config.DOCKER_SOCKET });
}
