import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
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
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  EventTypes,
  StreamTypes,
  type ImageBuildRequest,
  type ImageBuildSpec,
  type ImageStatusInfo,
} from '@executor/contracts';
import { EventRecorder, findRepoRoot } from '@executor/common';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import { DOCKER } from '../sandbox/docker.provider';
import {
  committedConfig,
  type CustomBuild,
  demuxLog,
  LABEL_BUILD_RUNNER,
  packagesDockerfile,
  SETUP_TIMEOUT_S,
  setupContainerOptions,
} from './custom-image';

const run = promisify(execFile);
const TEMPLATES_DIR = join(findRepoRoot(__dirname), 'templates');
const LOG_LINES = 30;
/** A `docker build` that has not finished by then is cancelled and reported as failed. */
const BUILD_TIMEOUT_MS = 60 * 60 * 1000;
/** Longer lines of a build's log are cut: its tail travels in NATS replies. */
const LOG_LINE_CHARS = 400;

interface Failure {
  error: string;
  log_tail: string[];
}

/**
 * How long a failed build stands for its image: until then a run of its template answers with
 * the failure at once instead of building it again (the same definition fails the same way);
 * deleting the template and registering it again rebuilds it at any time.
 */
export const FAILED_BUILD_STANDS_MS = 5 * 60_000;

/** Appends the non-empty lines of a text to a build log, each cut short, keeping its last 500. */
function pushLines(log: string[], text: string): void {
  log.push(
    ...text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => (l.length > LOG_LINE_CHARS ? `${l.slice(0, LOG_LINE_CHARS)}…` : l)),
  );
  if (log.length > 500) log.splice(0, log.length - 500);
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

/**
 * Builds template images (the runner owns Docker): built-ins from templates/<name>, custom
 * ones in two steps: their packages by a generated Dockerfile, then their setup commands in a
 * locked-down container (the sandbox user, no capabilities, no network) committed as the image.
 * One build per image at a time; every build is recorded as events, so a second template with
 * the same packages shows no second build.
 */
@Injectable()
export class ImageBuilder implements OnApplicationBootstrap {
  private readonly logger = new Logger(ImageBuilder.name);
  private readonly inflight = new Map<string, Promise<ImageStatusInfo>>();
  private readonly failures = new Map<string, Failure & { at: number }>();
  /** The log of each build in progress, by image: its tail is the status of a building image. */
  private readonly logs = new Map<string, string[]>();
  /** The end of the log of each image this runner built, so a reader sees how the build ended. */
  private readonly builtLogs = new Map<string, string[]>();

  constructor(
    @Inject(DOCKER) private readonly docker: Docker,
    private readonly recorder: EventRecorder,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  /** Setup containers a crashed predecessor of this runner left behind. */
  async onApplicationBootstrap(): Promise<void> {
    const leftovers = await this.docker
      .listContainers({ all: true, filters: { label: [`${LABEL_BUILD_RUNNER}=${this.config.RUNNER_ID}`] } })
      .catch(() => []);
    await Promise.all(
      leftovers.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }

  async status(image: string): Promise<ImageStatusInfo> {
    if (this.inflight.has(image))
      return { status: 'building', log_tail: (this.logs.get(image) ?? []).slice(-LOG_LINES) };
    try {
      const info = await this.docker.getImage(image).inspect();
      const log_tail = this.builtLogs.get(image);
      return { status: 'ready', size_bytes: info.Size, ...(log_tail ? { log_tail } : {}) };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) return { status: 'unknown' };
    }
    const failure = this.failures.get(image);
    return failure
      ? { status: 'failed', error: failure.error, log_tail: failure.log_tail }
      : { status: 'missing' };
  }

  /** The failure of the image's last build, while it stands (FAILED_BUILD_STANDS_MS). */
  standingFailure(image: string): Failure | undefined {
    const failure = this.failures.get(image);
    if (!failure || Date.now() - failure.at >= FAILED_BUILD_STANDS_MS) return undefined;
    return { error: failure.error, log_tail: failure.log_tail };
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
    this.logs.set(req.image, log);
    try {
      await this.build(req, hash, log);
      const size = (await this.docker.getImage(req.image).inspect()).Size;
      this.failures.delete(req.image);
      this.builtLogs.set(req.image, log.slice(-LOG_LINES));
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
      this.failures.set(req.image, { ...failure, at: Date.now() });
      this.logger.warn(`build of ${req.image} failed: ${failure.error}`);
      await this.recorder.record(stream, StreamTypes.Template, 'any', [
        {
          type: EventTypes.TemplateBuildFailed,
          data: { hash, image: req.image, template: req.template, error: failure.error },
        },
      ]);
      return { status: 'failed', ...failure };
    } finally {
      this.logs.delete(req.image);
    }
  }

  private async hashOf(spec: ImageBuildSpec): Promise<string> {
    if (spec.kind === 'custom') return spec.hash;
    const base = await this.docker.getImage(this.config.BASE_IMAGE).inspect();
    return builtinHash(join(TEMPLATES_DIR, spec.template), base.Id);
  }

  private async build(req: ImageBuildRequest, hash: string, log: string[]): Promise<void> {
    if (req.build.kind === 'builtin') {
      const context = join(TEMPLATES_DIR, req.build.template);
      if (!existsSync(join(context, 'Dockerfile')))
        throw new Error(`template ${req.build.template} has no Dockerfile`);
      const id = await this.dockerBuild(context, hash, req.template, log);
      await this.tag(id, [req.image, req.image.replace(/:latest$/, `:${hash}`)]);
      return;
    }
    const context = mkdtempSync(join(tmpdir(), 'executor-build-'));
    let packagesImage: string;
    try {
      writeFileSync(join(context, 'Dockerfile'), packagesDockerfile(req.build));
      if (req.build.packages.npm.length > 0)
        await this.npmInstall(join(context, 'npm'), req.build.packages.npm, log);
      packagesImage = await this.dockerBuild(context, hash, req.template, log);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
    if (req.build.setup_commands.length === 0) await this.tag(packagesImage, [req.image]);
    else await this.runSetup(req.build, packagesImage, req.image, req.template, log);
  }

  /**
   * Runs the setup commands as the sandbox user without capabilities or network (see
   * setupContainerOptions) and commits what they left as the template's image.
   */
  private async runSetup(
    spec: CustomBuild,
    packagesImage: string,
    image: string,
    template: string,
    log: string[],
  ): Promise<void> {
    const container = await this.docker.createContainer(
      setupContainerOptions(spec, packagesImage, this.config.RUNNER_ID),
    );
    try {
      await container.start();
      const deadline = new Promise<null>((r) =>
        setTimeout(() => r(null), (SETUP_TIMEOUT_S + 30) * 1000).unref(),
      );
      // The commands' output joins the log while they run (a building image shows its tail):
      // read once a second, one read at a time, so a slow engine still shows every read's tail.
      const head = log.slice();
      const readOutput = async () => {
        const output = demuxLog(await container.logs({ stdout: true, stderr: true, tail: 500 }));
        log.length = 0;
        log.push(...head);
        pushLines(log, output);
      };
      let reading: Promise<void> | undefined;
      const follow = setInterval(() => {
        reading ??= readOutput()
          .catch(() => undefined)
          .finally(() => (reading = undefined));
      }, 1000);
      let exit: { StatusCode: number } | null;
      try {
        exit = await Promise.race([container.wait() as Promise<{ StatusCode: number }>, deadline]);
      } finally {
        clearInterval(follow);
      }
      await reading;
      await readOutput();
      if (exit === null || exit.StatusCode === 137) {
        throw new Error(`the setup commands ran past ${SETUP_TIMEOUT_S} s and were stopped`);
      }
      if (exit.StatusCode !== 0) {
        throw new Error(`the setup commands returned a non-zero code: ${exit.StatusCode}`);
      }
      const config = (await this.docker.getImage(packagesImage).inspect()).Config;
      const [repo, tag] = image.split(/:(?=[^:]+$)/);
      await container.commit({
        _query: { container: container.id, repo, tag },
        _body: committedConfig(config, spec, template),
      });
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  private async tag(id: string, tags: string[]): Promise<void> {
    for (const t of tags) {
      const [repo, tag] = t.split(/:(?=[^:]+$)/);
      await this.docker.getImage(id).tag({ repo, tag });
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

  /** `docker build` of a folder; resolves with the id of the image built. */
  private async dockerBuild(context: string, hash: string, template: string, log: string[]): Promise<string> {
    const stream = await this.docker.buildImage(
      { context, src: filesOf(context).map((f) => f.slice(2)) },
      {
        buildargs: { BASE_IMAGE: this.config.BASE_IMAGE },
        labels: { 'executor.template.hash': hash, 'executor.template': template },
        rm: true,
        forcerm: true,
      },
    );
    // Closing the connection cancels the build in the engine.
    const timer = setTimeout(
      () => (stream as Readable).destroy(new Error(`the build ran past ${BUILD_TIMEOUT_MS / 60000} minutes`)),
      BUILD_TIMEOUT_MS,
    ).unref();
    try {
      return await new Promise<string>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err: Error | null, output: Array<{ error?: string; aux?: { ID?: string } }>) => {
            const failed = err ?? output.find((o) => o.error);
            const id = output.find((o) => o.aux?.ID)?.aux?.ID;
            if (failed) reject(new Error(err ? err.message : String((failed as { error?: string }).error)));
            else if (!id) reject(new Error('the build finished without an image id'));
            else resolve(id);
          },
          (event: { stream?: string; error?: string }) => pushLines(log, event.stream ?? event.error ?? ''),
        );
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
