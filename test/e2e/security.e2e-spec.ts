import { expectNoLeftoverContainers, get, post } from './client';

interface Result {
  status: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  error?: { name: string; value: string };
  timed_out: boolean;
  oom_killed: boolean;
  truncated: boolean;
  artifacts: Array<{ name: string; type: string }>;
}

const run = async (code: string, extra: Record<string, unknown> = {}) => {
  const res = await post<Result>('/execute', { tenant_id: 't-hostile', code, ...extra });
  expect(res.status).toBe(200);
  return res.body;
};

/**
 * Hostile programs, each with the outcome it must have. After each the service still
 * answers and nothing is left behind (checked after every test).
 */
describe('hostile programs', () => {
  afterEach(async () => {
    const health = await get<{ status: string }>('/health');
    expect(health.status).toBe(200);
    await expectNoLeftoverContainers();
  });

  it('a fork bomb hits the pids limit', async () => {
    const r = await run(
      [
        'import os',
        'n = 0',
        'try:',
        '    while True:',
        '        if os.fork() == 0:',
        '            import time; time.sleep(30); os._exit(0)',
        '        n += 1',
        'except OSError as e:',
        '    print("stopped after", n, "forks, errno", e.errno)',
      ].join('\n'),
      { timeout: 10 },
    );
    expect(r.stdout).toMatch(/stopped after \d+ forks, errno 11/);
    const forks = Number(/after (\d+)/.exec(r.stdout)?.[1]);
    expect(forks).toBeLessThan(128);
  });

  it('a memory bomb is killed and reported as OOM', async () => {
    const r = await run('chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 * 1024))', {
      timeout: 20,
    });
    expect(r).toMatchObject({ status: 'oom', oom_killed: true, timed_out: false });
    expect(r.error?.name).toBe('MemoryError');
  });

  it('endless output is cut at the cap, says truncated, and the program keeps running', async () => {
    const r = await run(
      [
        'import os',
        'for i in range(300000):',
        '    print("line %07d of a flood" % i)',
        'os.makedirs("outputs", exist_ok=True)',
        'open("outputs/finished.txt", "w").write("yes")',
      ].join('\n'),
      { timeout: 30 },
    );
    expect(r.status).toBe('success');
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(1024 * 1024);
    expect(r.stdout.startsWith('line 0000000 of a flood\n')).toBe(true);
    expect(r.artifacts.map((a) => a.name)).toContain('outputs/finished.txt');
  });

  it('output that never ends is cut and the run killed at its timeout', async () => {
    const r = await run('while True:\n    print("x" * 1000)', { timeout: 3 });
    expect(r).toMatchObject({ status: 'timeout', timed_out: true, truncated: true });
  });

  it('filling the disk stops at the tmpfs sizes', async () => {
    const r = await run(
      [
        'import errno',
        'for target, mb in (("/workspace/fill", 60), ("/tmp/fill", 120)):',
        '    written = 0',
        '    try:',
        '        with open(target, "wb") as f:',
        '            for _ in range(mb):',
        '                f.write(b"0" * 1024 * 1024); f.flush(); written += 1',
        '        print(target, "wrote", written, "MB")',
        '    except OSError as e:',
        '        print(target, "stopped at", written, "MB", errno.errorcode[e.errno])',
      ].join('\n'),
      { timeout: 30 },
    );
    expect(r.stdout).toMatch(/\/workspace\/fill stopped at (4\d|50) MB ENOSPC/);
    expect(r.stdout).toMatch(/\/tmp\/fill stopped at (9\d|100) MB ENOSPC/);
  });

  it('an endless loop is killed at its timeout', async () => {
    const r = await run('while True:\n    pass', { timeout: 2 });
    expect(r).toMatchObject({ status: 'timeout', timed_out: true, exit_code: 137 });
  });

  it('a background process, files and /dev/shm do not outlive their run', async () => {
    const first = await run(
      [
        'import subprocess',
        'subprocess.Popen(["sleep", "300"])',
        'open("/tmp/left-behind", "w").write("x")',
        'open("/workspace/left-behind", "w").write("x")',
        'open("/dev/shm/left-behind", "w").write("x")',
        'print("planted")',
      ].join('\n'),
    );
    expect(first.stdout).toBe('planted\n');
    const second = await run(
      [
        'import os',
        'cmds = [open(f"/proc/{p}/cmdline", "rb").read() for p in os.listdir("/proc") if p.isdigit()]',
        'print(any(c.startswith(b"sleep") for c in cmds))',
        'print([p for p in ("/tmp/left-behind", "/workspace/left-behind", "/dev/shm/left-behind") if os.path.exists(p)])',
      ].join('\n'),
    );
    expect(second.stdout).toBe('False\n[]\n');
  });

  it('cannot write to /, /etc or /usr', async () => {
    const r = await run(
      [
        'for p in ["/x", "/etc/passwd", "/usr/bin/python3", "/usr/local/x"]:',
        '    try:',
        '        open(p, "a").write("x")',
        '        print("wrote", p)',
        '    except OSError as e:',
        '        print("refused", p, e.errno)',
      ].join('\n'),
    );
    // EROFS (30) for new files; EACCES (13) where permissions are checked first.
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(/^refused \S+ (13|30)$/);
  });

  it("sees neither the runner's environment nor host paths", async () => {
    const r = await run(
      [
        'import os',
        'print(sorted(k for k in os.environ if k.startswith(("NATS", "EVENT_STORE", "RUNNER", "API_", "DOCKER"))))',
        'print([p for p in ("/var/run/docker.sock", "/run/docker.sock", "/work", "/root/.ssh") if os.path.exists(p)])',
        'points = [line.split()[1] for line in open("/proc/mounts")]',
        'print([p for p in points if "docker.sock" in p or p.startswith(("/work/", "/var/", "/root", "/home", "/run/docker"))])',
        'print(os.getuid(), os.getgid())',
      ].join('\n'),
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['[]', '[]', '[]']);
    expect(lines[3]).toBe('10001 10001');
  });

  it('cannot raise its limits, become root or mount', async () => {
    const r = await run(
      [
        'import os, resource, subprocess',
        'soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)',
        'try:',
        '    resource.setrlimit(resource.RLIMIT_NOFILE, (hard + 1, hard + 1))',
        '    print("raised nofile")',
        'except (ValueError, OSError) as e:',
        '    print("nofile refused")',
        'try:',
        '    os.setuid(0)',
        '    print("root!")',
        'except PermissionError:',
        '    print("setuid refused")',
        'p = subprocess.run(["mount", "-t", "tmpfs", "none", "/tmp"], capture_output=True)',
        'print("mount rc", p.returncode)',
        'print(open("/proc/self/status").read().split("CapEff:")[1].split()[0])',
      ].join('\n'),
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['nofile refused', 'setuid refused']);
    expect(lines[2]).not.toBe('mount rc 0');
    expect(lines[3]).toBe('0000000000000000');
  });

  it('signals to PID 1 do not take the sandbox down or reach the host', async () => {
    const r = await run(
      'import os, signal\nfor s in (signal.SIGTERM, signal.SIGKILL):\n    try:\n        os.kill(1, s)\n    except OSError as e:\n        print("refused", e.errno)\nprint("still here")',
    );
    expect(['success', 'sandbox_died']).toContain(r.status);
    if (r.status === 'success') expect(r.stdout).toContain('still here');
  });

  it('proves network isolation from inside: only lo, no route, DNS fails', async () => {
    const r = await run(
      [
        'import os, socket',
        'print(sorted(os.listdir("/sys/class/net")))',
        'print(len(open("/proc/net/route").read().strip().splitlines()))',
        'print(len(open("/proc/net/ipv6_route").read().strip().splitlines()) if os.path.exists("/proc/net/ipv6_route") else 0)',
        'try:',
        '    socket.getaddrinfo("example.com", 443)',
        '    print("resolved")',
        'except socket.gaierror:',
        '    print("dns failed")',
      ].join('\n'),
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe("['lo']");
    expect(lines[1]).toBe('1');
    expect(lines[3]).toBe('dns failed');
  });

  it('very long lines and a 1 MB single print come back whole', async () => {
    const r = await run('print("a" * 1000000)');
    expect(r.status).toBe('success');
    expect(r.stdout.length).toBe(1000001);
    expect(r.truncated).toBe(false);
    const long = await run('import sys\nsys.stdout.write("b" * 3000000)');
    expect(long.truncated).toBe(true);
    expect(long.stdout.length).toBe(1024 * 1024);
  });

  it('non-UTF-8 bytes on stdout become replacement characters', async () => {
    const r = await run('import sys\nsys.stdout.buffer.write(b"ok \\xff\\xfe done\\n")');
    expect(r.stdout).toBe('ok \uFFFD\uFFFD done\n');
  });

  it('10,000 tiny prints all arrive, in order', async () => {
    const r = await run('for i in range(10000):\n    print(i)');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(10000);
    expect(lines[0]).toBe('0');
    expect(lines[9999]).toBe('9999');
  });

  it('deep recursion is a RecursionError, not a crash', async () => {
    const r = await run('def f(n):\n    return f(n + 1)\nf(0)');
    expect(r.status).toBe('error');
    expect(r.error?.name).toBe('RecursionError');
  });
});
