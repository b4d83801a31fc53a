import { changesOf, parseChange } from './envd-watch';
import { EventType } from './third_party/envd/gen/filesystem/filesystem_pb';

describe('watchDir changes', () => {
  it("reads comm's two columns of snapshot lines", () => {
    expect(parseChange('a.txt\tf\t1700000000.5\t12')).toEqual({
      side: 'old',
      entry: { path: 'a.txt', type: 'f', stamp: '1700000000.5/12' },
    });
    expect(parseChange('\tsub/b.txt\tf\t1.0\t0')?.side).toBe('new');
    expect(parseChange('garbage')).toBeNull();
    expect(parseChange('a\tf\tnot-a-time\t1')).toBeNull();
    expect(parseChange('a\tf\t1\t1\textra')).toBeNull();
    expect(parseChange(`${'x'.repeat(5000)}\tf\t1\t1`)).toBeNull();
  });

  it('names what was created, written and removed, as inotify would', () => {
    const events = changesOf([
      'kept.txt\tf\t1.0\t1',
      '\tkept.txt\tf\t2.0\t5',
      '\tnew.txt\tf\t2.0\t1',
      'gone.txt\tf\t1.0\t1',
      'dir\td\t1.0\t4096',
      '\tdir\td\t2.0\t4096',
      '\t../escape\tf\t1\t1',
      'not a line',
    ]);
    expect(events).toEqual(
      expect.arrayContaining([
        { name: 'kept.txt', type: EventType.WRITE },
        { name: 'new.txt', type: EventType.CREATE },
        { name: 'gone.txt', type: EventType.REMOVE },
      ]),
    );
    expect(events).toHaveLength(3);
  });
});
