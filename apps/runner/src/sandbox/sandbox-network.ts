import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import Docker from 'dockerode';
import { LABEL_MANAGED, SANDBOX_NETWORK } from './container-options';
import { DOCKER } from './docker.provider';

/** Bridge options: containers on it cannot talk to each other; published ports bind to loopback only. */
export const SANDBOX_NETWORK_OPTIONS = {
  'com.docker.network.bridge.enable_icc': 'false',
  'com.docker.network.bridge.enable_ip_masquerade': 'true',
  'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1',
};

/**
 * The network for templates with network access (python-web): a bridge of its own with
 * inter-container traffic off. The Docker socket is never mounted and the host's services
 * listen on loopback only, so a sandbox reaches neither other sandboxes nor them.
 */
@Injectable()
export class SandboxNetwork implements OnApplicationBootstrap {
  private readonly logger = new Logger(SandboxNetwork.name);

  constructor(@Inject(DOCKER) private readonly docker: Docker) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.docker.getNetwork(SANDBOX_NETWORK).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      try {
        await this.docker.createNetwork({
          Name: SANDBOX_NETWORK,
          Driver: 'bridge',
          CheckDuplicate: true,
          Options: SANDBOX_NETWORK_OPTIONS,
          Labels: { [LABEL_MANAGED]: 'true' },
        });
        this.logger.log(`created the ${SANDBOX_NETWORK} network (no inter-container traffic)`);
      } catch (createErr) {
        // Another runner on this engine created it first.
        if ((createErr as { statusCode?: number }).statusCode !== 409) throw createErr;
      }
    }
  }
}
