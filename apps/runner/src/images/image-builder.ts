import { Inject, Injectable, Logger } from '@nestjs/common';
import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import {
  EventTypes,
  StreamTypes,
  type ImageBuildRequest,
  type ImageBuildSpec,
  type ImageStatusInfo,
} from '@executor/contracts';
import { findRepoRoot } from '@executor/common';
import { EventRecorder } from '@executor/event-store';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import { DOCKER } from '../sandbox/docker.provider';

const run = promisify(execFile);
const TEMPLATES_DIR = join(findRepoRoot(__dirname), 'templates');
const LOG_LINES = 30;

interface Failure {
  error: string;
  log_tail: string[];
}

/** Files of a folder, sorted as `find . -type f | LC_ALL=C sort` would list them. */
function filesOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(`./${relative(dir, p)}`);
    }
  };
  walk(dir);
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** The same content hash scripts/build-images.sh gives a built-in template's image. */
export function builtinHash(dir: string, baseImageId: string): string {
  const lines = filesOf(dir).map(
    (f) =>
      `${createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex')}  ${f}\n`,
  );
  return createHash('sha256')
    .update(`${baseImageId}\n${lines.join('')}`)
    .digest('hex')
    .slice(0, 16);
}

/** The Dockerfile of a custom template: its base template's image plus packages. */
export function customDockerfile(spec: Extract<ImageBuildSpec, { kind: 'custom' }>): string {
  const lines = [`FROM ${spec.base_image}`, 'USER root'];
  const { apt, pip, npm } = spec.packages;
  if (apt.length > 0 || pip.length > 0) {
    const aptAll = [...apt, ...(pip.length > 0 ? ['python3-pip'] : [])];
    lines.push(
      'RUN apt-get update \\',
      ` && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${aptAll.join(' ')} \\`,
      ' && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb',
    );
  }
  if (pip.length > 0) {
    lines.push(
      `RUN pip install --no-cache-dir --break-system-packages ${pip.map((p) => `'${p}'`).join(' ')}`,
    );
  }
  if (npm.length > 0) {
    // Installed on the build host with --ignore-scripts (no package code runs there), copied in.
    lines.push(
      'COPY npm/node_modules /opt/executor/node_modules',
      'ENV NODE_PATH=/opt/executor/node_modules',
    );
  }
  for (const command of spec.setup_commands) lines.push(`RUN ${command}`);
  lines.push('USER 10001:10001', `LABEL executor.template.hash=${spec.hash}`);
  return lines.join('\n') + '\n';
}

/**
 * Builds template images (the runner owns Docker): built-ins from templates/<name>,
 * custom ones from a generated Dockerfile. One build per image at a time; every build is
 * recorded as events, so a second template with the same packages shows no second build.
 */
@Injectable()
export class ImageBuilder {
  private readonly logger = new Logger(ImageBuilder.name);
  private readonly inflight = new Map<string, Promise<ImageStatusInfo>>();
  private readonly failures = new Map<string, Failure>();

  constructor(
    @Inject(DOCKER) private readonly docker: Docker,
    private readonly recorder: EventRecorder,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  async status(image: string): Promise<ImageStatusInfo> {
    if (this.inflight.has(image)) return { status: 'building' };
    try {
      const info = await this.docker.getImage(image).inspect();
      return { status: 'ready', size_bytes: info.Size };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) return { status: 'unknown' };
    }
    const failure = this.failures.get(image);
    return failure ? { status: 'failed', ...failure } : { status: 'missing' };
  }

  /** Starts a build unless the image is there or being built; resolves when it is done. */
  ensure(req: ImageBuildRequest): Promise<ImageStatusInfo> {
    const running = this.inflight.get(req.image);
    if (running) return running;
    const build = this.buildIfMissing(req).finally(() => this.inflight.delete(req.image));
    this.inflight.set(req.image, build);
    return build;
  }

  private async buildIfMissing(req: ImageBuildRequest): Promise<ImageStatusInfo> {
    const current = await this.docker
      .getImage(req.image)
      .inspect()
      .catch(() => null);
    if (current) return { status: 'ready', size_bytes: current.Size };
    const hash = await this.hashOf(req.build);
    const stream = `image-${hash}`;
    const started = performance.now();
    await this.recorder.record(stream, StreamTypes.Template, 'any', [
      { type: EventTypes.TemplateBuildStarted, data: { hash, image: req.image, template: req.template } },
    ]);
    this.logger.log(`building ${req.image} for template ${req.template}`);
    const log: string[] = [];
    try {
      await this.build(req, hash, log);
      const size = (await this.docker.getImage(req.image).inspect()).Size;
      this.failures.delete(req.image);
      await this.recorder.record(stream, StreamTypes.Template, 'any', [
        {
          type: EventTypes.TemplateBuilt,
          data: {
            hash,
            image: req.image,
            template: req.template,
            size_bytes: size,
            duration_ms: Math.round(performance.now() - started),
          },
        },
      ]);
      return { status: 'ready', size_bytes: size };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      const failure = { error: error.slice(0, 500), log_tail: log.slice(-LOG_LINES) };
      this.failures.set(req.image, failure);
      this.logger.warn(`build of ${req.image} failed: ${failure.error}`);
      await this.recorder.record(stream, StreamTypes.Template, 'any', [
        {
          type: EventTypes.TemplateBuildFailed,
          data: { hash, image: req.image, template: req.template, error: failure.error },
        },
      ]);
      return { status: 'failed', ...failure };
    }
  }

  private async hashOf(spec: ImageBuildSpec): Promise<string> {
    if (spec.kind === 'custom') return spec.hash;
    const base = await this.docker.getImage(this.config.BASE_IMAGE).inspect();
    return builtinHash(join(TEMPLATES_DIR, spec.template), base.Id);
  }

  private async build(req: ImageBuildRequest, hash: string, log: string[]): Promise<void> {
    let context: string;
    let cleanup = false;
    const tags = [req.image];
    if (req.build.kind === 'builtin') {
      context = join(TEMPLATES_DIR, req.build.template);
      if (!existsSync(join(context, 'Dockerfile')))
        throw new Error(`template ${req.build.template} has no Dockerfile`);
      tags.push(req.image.replace(/:latest$/, `:${hash}`));
    } else {
      context = mkdtempSync(join(tmpdir(), 'executor-build-'));
      cleanup = true;
      writeFileSync(join(context, 'Dockerfile'), customDockerfile(req.build));
      if (req.build.packages.npm.length > 0)
        await this.npmInstall(join(context, 'npm'), req.build.packages.npm, log);
    }
    try {
      await this.dockerBuild(context, tags, hash, req.template, log);
    } finally {
      if (cleanup) rmSync(context, { recursive: true, force: true });
    }
  }

  private async npmInstall(dir: string, packages: string[], log: string[]): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'executor-template', private: true }));
    try {
      const { stdout, stderr } = await run(
        'npm',
        [
          'install',
          '--ignore-scripts',
          '--no-audit',
          '--no-fund',
          '--omit=dev',
          '--loglevel=error',
          ...packages,
        ],
        { cwd: dir, timeout: 300000, maxBuffer: 8 * 1024 * 1024 },
      );
      log.push(...`${stdout}${stderr}`.split('\n').filter(Boolean));
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      log.push(
        ...String(e.stderr ?? '')
          .split('\n')
          .filter(Boolean),
      );
      throw new Error(`npm install failed: ${e.message.split('\n')[0]}`);
    }
  }

  private async dockerBuild(
    context: string,
    tags: string[],
    hash: string,
    template: string,
    log: string[],
  ): Promise<void> {
    const stream = await this.docker.buildImage(
      { context, src: filesOf(context).map((f) => f.slice(2)) },
      {
        t: tags[0],
        buildargs: { BASE_IMAGE: this.config.BASE_IMAGE },
        labels: { 'executor.template.hash': hash, 'executor.template': template },
        rm: true,
        forcerm: true,
      },
    );
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = err ?? output.find((o) => o.error);
          if (failed) reject(new Error(err ? err.message : String((failed as { error?: string }).error)));
          else resolve();
        },
        (event: { stream?: string; error?: string }) => {
          const text = event.stream ?? event.error;
          if (text) log.push(...text.split('\n').filter((l) => l.trim()));
          if (log.length > 500) log.splice(0, log.length - 500);
        },
      );
    });
    for (const tag of tags.slice(1)) {
      const [repo, name] = tag.split(/:(?=[^:]+$)/);
      await this.docker.getImage(tags[0]).tag({ repo, tag: name });
    }
  }
}
