/**
 * Removes template images nothing uses any more: custom images (executor/custom:<hash>) of
 * no registered template, and built-in images tagged by an old content hash.
 *
 *   npm run images:prune                 # EVENT_STORE_URL or EVENT_STORE_PATH names the store, as for the services
 *   npm run images:prune -- --dry-run    # only list them
 */
import Docker from 'dockerode';
import { EventStore } from '../libs/event-store/src/event-store';
import { eventStoreOptionsFromEnv } from '../libs/common/src/event-store-config';
import { readArgs } from './lib/cli-args';

async function main(): Promise<void> {
  const dryRun = readArgs(process.argv.slice(2), { 'dry-run': 'boolean' }).values['dry-run'] ?? false;
  const store = await EventStore.open(eventStoreOptionsFromEnv());
  const live = new Map<string, string>();
  try {
    for await (const e of store.scan({ stream_type: 'template' })) {
      const data = e.data as { name?: string; image?: string };
      if (e.type === 'TemplateRegistered' && data.name && data.image) live.set(data.name, data.image);
      if (e.type === 'TemplateDeleted' && data.name) live.delete(data.name);
    }
  } finally {
    await store.close();
  }
  const used = new Set(live.values());
  const docker = new Docker();
  const images = await docker.listImages({ filters: { label: ['executor.template.hash'] } });
  const unused: string[] = [];
  for (const image of images) {
    const tags = image.RepoTags ?? [];
    const custom = tags.filter((t) => t.startsWith('executor/custom:'));
    if (custom.length > 0 && !custom.some((t) => used.has(t))) unused.push(...custom);
    // A built-in image no longer tagged :latest was replaced by a newer build.
    if (custom.length === 0 && !tags.some((t) => t.endsWith(':latest'))) unused.push(...tags);
  }
  for (const tag of unused) {
    console.log(`${dryRun ? 'would remove' : 'removing'} ${tag}`);
    if (!dryRun)
      await docker
        .getImage(tag)
        .remove()
        .catch((err: Error) => console.warn(`  kept: ${err.message}`));
  }
  console.log(`${unused.length} unused image tag(s); ${used.size} custom template image(s) in use`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
