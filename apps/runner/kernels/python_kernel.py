# Executor's in-sandbox kernel for Python (and bash). It runs as the sandbox's main
# process, passed as `python3 -c`, so images need nothing of ours baked in.
#
# Protocol (docs in apps/runner/README.md):
#   runner -> kernel, stdin, one JSON object per line:
#     {"run", "code", "language": "python"|"bash", "files": [{"path", "content_b64"}], "env": {}}
#   kernel -> runner, the container's stdout, one frame per line, each line starting with
#   the record separator \x1e followed by JSON; every frame but ready carries "r", the id of
#   the run it belongs to (the runner drops frames of any other run):
#     {"t":"ready"} once preloading is done
#     {"t":"out","n":"stdout"|"stderr","b":<base64>} output as it happens (capped)
#     {"t":"trunc","n":...} the cap was reached; the rest is read and dropped
#     {"t":"result","data":{mime: value},"main":bool} rich results (value base64 for binary)
#     {"t":"error","name","value","traceback"} the exception of the run
#     {"t":"file","name","mime","b":<base64>,"size"} files written under /workspace/outputs
#     {"t":"done","exit_code":n,"stdout_bytes":n,"stderr_bytes":n}
# User output is captured at the file-descriptor level (fd 1 and 2 are pipes read by two
# threads), so output of subprocesses and C extensions is captured too.
# What an idle kernel holds stays small (1,000 idle sessions on a host): modules a run may
# never need (traceback, ast's Python half, datetime, ctypes) are imported where used.
import _ast
import base64
import builtins
import io
import json
import linecache
import os
import sys
import threading

MODE = os.environ.get('EXECUTOR_KERNEL', 'python')
MAX_OUTPUT = int(os.environ.get('EXECUTOR_MAX_OUTPUT_BYTES', str(1024 * 1024)))
MAX_ARTIFACT = int(os.environ.get('EXECUTOR_MAX_ARTIFACT_BYTES', str(10 * 1024 * 1024)))
WORKSPACE = '/workspace'
OUTPUTS = os.path.join(WORKSPACE, 'outputs')
BINARY_MIMES = ('image/png', 'image/jpeg', 'image/gif', 'application/pdf')

# The protocol channel: a copy of the container's stdout, not inherited by children (PEP 446);
# fd 1 itself becomes a pipe that captures the run's output.
_proto = os.fdopen(os.dup(1), 'wb', buffering=0)
_proto_lock = threading.Lock()
# The id of the run in progress, put on every frame.
_run = None
MAX_ERROR_VALUE = 64 * 1024
MAX_TRACEBACK = 256 * 1024


def _start_process():
    """Once at start, through libc: the kernel becomes not dumpable (other processes of the
    sandbox user, the run's children, cannot open /proc/<kernel>/fd) and its allocator keeps
    less idle memory: one arena for all threads and no padding kept at the top of the heap.
    ctypes is imported for this only and taken out of sys.modules again (a run that imports it
    gets it afresh), so an idle kernel does not hold it."""
    before = set(sys.modules)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
        libc.mallopt(-8, 1)  # M_ARENA_MAX: the capture threads share the main arena
        libc.mallopt(-2, 0)  # M_TOP_PAD
        return libc.malloc_trim
    except Exception:
        return None
    finally:
        for name in set(sys.modules) - before:
            del sys.modules[name]


def _release_start_memory(trim):
    """What start-up freed goes back to the system before the kernel waits for its first run."""
    import gc

    gc.collect()
    if trim is not None:
        try:
            trim(0)
        except Exception:
            pass


def _format_exception(e, tb):
    import traceback

    return ''.join(traceback.format_exception(type(e), e, tb))


def send(frame):
    if frame.get('t') != 'ready':
        frame['r'] = _run
    line = b'\x1e' + json.dumps(frame, separators=(',', ':'), default=str).encode() + b'\n'
    with _proto_lock:
        _proto.write(line)


def _error(name, value, tb):
    """The run's exception as a frame, cut to the sizes the runner accepts."""
    value = value if len(value) <= MAX_ERROR_VALUE else value[:MAX_ERROR_VALUE] + '\n... [truncated]'
    tb = tb if len(tb) <= MAX_TRACEBACK else '[truncated] ...\n' + tb[-MAX_TRACEBACK:]
    return {'name': name[:256], 'value': value, 'traceback': tb}


class Capture(threading.Thread):
    """Reads one redirected file descriptor and forwards it as frames, within a byte budget."""

    MARK = b'\x00\x1fEXECUTOR-SYNC:'

    def __init__(self, fd, name):
        super().__init__(daemon=True)
        self.name_ = name
        r, w = os.pipe()
        os.dup2(w, fd)
        os.close(w)
        self.fd = fd
        self.r = r
        self.total = 0
        self.sent = 0
        self.truncated = False
        self.synced = threading.Condition()
        self.seen_tokens = set()

    def reset(self):
        self.total = 0
        self.sent = 0
        self.truncated = False

    def forward(self, data):
        if not data:
            return
        self.total += len(data)
        room = MAX_OUTPUT - self.sent
        if room > 0:
            part = data[:room]
            self.sent += len(part)
            send({'t': 'out', 'n': self.name_, 'b': base64.b64encode(part).decode()})
        if len(data) > max(room, 0) and not self.truncated:
            self.truncated = True
            send({'t': 'trunc', 'n': self.name_})

    def run(self):
        buf = b''
        while True:
            try:
                data = os.read(self.r, 65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while True:
                i = buf.find(self.MARK)
                if i < 0:
                    keep = 0
                    for k in range(min(len(self.MARK) - 1, len(buf)), 0, -1):
                        if self.MARK.startswith(buf[-k:]):
                            keep = k
                            break
                    self.forward(buf[: len(buf) - keep])
                    buf = buf[len(buf) - keep :]
                    break
                j = buf.find(b'\n', i)
                if j < 0:
                    self.forward(buf[:i])
                    buf = buf[i:]
                    break
                self.forward(buf[:i])
                token = buf[i + len(self.MARK) : j]
                buf = buf[j + 1 :]
                with self.synced:
                    self.seen_tokens.add(token)
                    self.synced.notify_all()

    def mark(self, token):
        os.write(self.fd, self.MARK + token + b'\n')

    def wait(self, token, timeout=2.0):
        """Waits until everything written to the fd before the mark has been forwarded."""
        with self.synced:
            self.synced.wait_for(lambda: token in self.seen_tokens, timeout)
            self.seen_tokens.discard(token)


# ---------------------------------------------------------------- rich results

_REPR_METHODS = (
    ('_repr_html_', 'text/html'),
    ('_repr_markdown_', 'text/markdown'),
    ('_repr_svg_', 'image/svg+xml'),
    ('_repr_png_', 'image/png'),
    ('_repr_jpeg_', 'image/jpeg'),
    ('_repr_latex_', 'text/latex'),
    ('_repr_json_', 'application/json'),
)


def _encode(mime, value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if mime in BINARY_MIMES and isinstance(value, str):
        return value  # already base64, as IPython's formatters give it
    if mime == 'application/json' or mime.endswith('+json'):
        return value  # kept as JSON, not as its Python repr
    return str(value)


def _figure_png(fig):
    out = io.BytesIO()
    fig.savefig(out, format='png', bbox_inches='tight')
    return out.getvalue()


def mime_bundle(obj):
    """The MIME bundle of an object, as Jupyter's display formatter would build it."""
    data = {}
    method = getattr(type(obj), '_repr_mimebundle_', None)
    if callable(method):
        try:
            got = obj._repr_mimebundle_(include=None, exclude=None)
            if isinstance(got, tuple):
                got = got[0]
            if isinstance(got, dict):
                data.update(got)
        except Exception:
            pass
    for name, mime in _REPR_METHODS:
        if mime in data or not callable(getattr(type(obj), name, None)):
            continue
        try:
            value = getattr(obj, name)()
        except Exception:
            continue
        if isinstance(value, tuple):
            value = value[0]
        if value is not None:
            data[mime] = value
    if 'image/png' not in data and type(obj).__module__.startswith('matplotlib') and hasattr(obj, 'savefig'):
        data['image/png'] = _figure_png(obj)
    add_rich_data(data, obj)  # python_rich.py: a chart's or a DataFrame's data, after the PNG drew it
    if 'text/plain' not in data:
        try:
            data['text/plain'] = repr(obj)
        except Exception as e:
            data['text/plain'] = '<unrepresentable object: %s>' % type(e).__name__
    return {mime: _encode(mime, value) for mime, value in data.items()}


def publish(data, main=False):
    send({'t': 'result', 'data': add_plotly_chart(data), 'main': main})


def display(*objs, **_kwargs):
    """Jupyter's display(): publishes each object's MIME bundle."""
    for obj in objs:
        publish(mime_bundle(obj))


# ---------------------------------------------------------------- matplotlib

def flush_figures():
    """Publishes every open matplotlib figure as PNG and closes it (plt.show() and end of run)."""
    pyplot = sys.modules.get('matplotlib.pyplot')
    if pyplot is None:
        return
    try:
        for num in pyplot.get_fignums():
            fig = pyplot.figure(num)
            png = base64.b64encode(_figure_png(fig)).decode()
            publish(add_rich_data({'image/png': png, 'text/plain': repr(fig)}, fig))
        pyplot.close('all')
    except Exception as e:  # a broken figure must not break the run
        sys.stderr.write('executor: could not render a figure: %r\n' % (e,))


_BACKEND_SOURCE = """
import builtins
from matplotlib.backend_bases import _Backend
from matplotlib.backends.backend_agg import _BackendAgg


@_Backend.export
class _BackendExecutor(_BackendAgg):
    # Agg draws; show() publishes every open figure as PNG, as Jupyter's inline backend does.
    @classmethod
    def show(cls, *args, **kwargs):
        builtins.__executor_flush_figures__()
"""


def _install_matplotlib_backend():
    """Writes a tiny matplotlib backend into the sandbox's tmpfs; matplotlib loads it lazily."""
    folder = '/tmp/.executor'
    try:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, 'executor_mpl_backend.py'), 'w') as fh:
            fh.write(_BACKEND_SOURCE)
    except OSError:
        return
    sys.path.append(folder)
    builtins.__executor_flush_figures__ = flush_figures
    os.environ['MPLBACKEND'] = 'module://executor_mpl_backend'


# ---------------------------------------------------------------- running code

class Runner:
    def __init__(self):
        self.count = 0
        self.error = None
        self.namespace = {'__name__': '__main__', '__builtins__': builtins, 'display': display}
        self.shell = None
        if MODE == 'ipython':
            self._start_ipython()

    def _start_ipython(self):
        from IPython.core.displayhook import DisplayHook
        from IPython.core.displaypub import DisplayPublisher
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        class Hook(DisplayHook):
            def write_output_prompt(self):
                pass

            def write_format_data(self, format_dict, md_dict=None):
                publish({m: _encode(m, v) for m, v in format_dict.items()}, main=True)

        class Publisher(DisplayPublisher):
            def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
                publish({m: _encode(m, v) for m, v in data.items()})

        config = Config()
        config.HistoryManager.enabled = False
        shell = InteractiveShell.instance(config=config, colors='NoColor')
        shell.displayhook = Hook(shell=shell, cache_size=1000)
        shell.display_pub = Publisher(shell=shell)
        shell.display_trap.hook = shell.displayhook

        def show_traceback(etype, evalue, stb):
            text = shell.InteractiveTB.stb2text(stb)
            sys.stderr.write(text + '\n')
            self.error = _error(etype.__name__, str(evalue), text)

        shell._showtraceback = show_traceback
        # A figure object as a value shows as PNG, as with Jupyter's inline backend.
        shell.display_formatter.formatters['image/png'].for_type_by_name('matplotlib.figure', 'Figure', _figure_png)
        register_rich_formatters(shell)  # charts and DataFrames as data (python_rich.py)
        self.shell = shell

    def run_python(self, code):
        """Returns the exit code: 0, 1 for an exception, or the code of a SystemExit."""
        self.error = None
        if self.shell is not None:
            result = self.shell.run_cell(code, store_history=True)
            err = result.error_in_exec or result.error_before_exec
            if isinstance(err, SystemExit):
                self.error = None
                return _exit_code(err)
            return 1 if err is not None else 0
        self.count += 1
        name = '<cell-%d>' % self.count
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        try:
            # ast.parse without the ast module: the nodes are _ast's own.
            tree = compile(code, name, 'exec', _ast.PyCF_ONLY_AST)
            last = None
            if tree.body and isinstance(tree.body[-1], _ast.Expr):
                last = _ast.Expression(tree.body.pop().value)
            exec(compile(tree, name, 'exec'), self.namespace)
            if last is not None:
                value = eval(compile(last, name, 'eval'), self.namespace)
                if value is not None:
                    self.namespace['_'] = value
                    publish(mime_bundle(value), main=True)
            return 0
        except SystemExit as e:
            return _exit_code(e)
        except BaseException as e:
            tb = e.__traceback__
            while tb is not None and not tb.tb_frame.f_code.co_filename.startswith('<cell-'):
                tb = tb.tb_next
            text = _format_exception(e, tb)
            sys.stderr.write(text)
            self.error = _error(type(e).__name__, str(e), text.rstrip('\n'))
            return 1

    def run_bash(self, code, env, stdin):
        import subprocess

        self.error = None
        data = {'input': stdin.encode()} if stdin else {'stdin': subprocess.DEVNULL}
        try:
            return subprocess.run(['bash', '-c', code], cwd=WORKSPACE, env=env, **data).returncode
        except KeyboardInterrupt:
            return 130


def _exit_code(e):
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return int(e.code) if -2**31 <= e.code < 2**31 else 1
    sys.stderr.write(str(e.code) + '\n')
    return 1


def _write_new(target, content):
    """Writes a file (never through a link); a write that fails (no space) leaves nothing behind."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, 'wb') as fh:
            fh.write(content)
    except BaseException:
        try:
            os.unlink(target)
        except OSError:
            pass
        raise


def write_files(files):
    for f in files:
        target = os.path.normpath(os.path.join(WORKSPACE, f['path']))
        if not target.startswith(WORKSPACE + '/'):
            raise ValueError('file path outside /workspace: ' + f['path'])
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        if os.path.realpath(parent) != parent:
            raise ValueError('file path goes through a link: ' + f['path'])
        _write_new(target, base64.b64decode(f['content_b64']))


def snapshot_outputs():
    found = {}
    if not os.path.isdir(OUTPUTS) or os.path.islink(OUTPUTS):
        return found
    for root, dirs, names in os.walk(OUTPUTS, followlinks=False):
        for n in names:
            p = os.path.join(root, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not os.path.islink(p) and os.path.isfile(p):
                found[p] = (st.st_mtime_ns, st.st_size)
    return found


def send_new_outputs(before):
    import mimetypes

    budget = MAX_ARTIFACT * 5
    for path, stamp in sorted(snapshot_outputs().items()):
        if before.get(path) == stamp:
            continue
        size = stamp[1]
        name = os.path.relpath(path, WORKSPACE)
        if size > MAX_ARTIFACT or size > budget:
            sys.stderr.write('executor: %s is too large to return (%d bytes)\n' % (name, size))
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, 'rb') as fh:
                content = fh.read(MAX_ARTIFACT + 1)
        except OSError:
            continue
        budget -= len(content)
        mime = mimetypes.guess_type(name)[0] or 'application/octet-stream'
        send({'t': 'file', 'name': name, 'mime': mime, 'size': len(content), 'b': base64.b64encode(content).decode()})


def _seed_matplotlib_cache():
    # Images may ship a built font cache; matplotlib wants it in a writable MPLCONFIGDIR.
    seed = '/usr/local/share/executor/mplconfig'
    target = os.environ.get('MPLCONFIGDIR')
    if target and os.path.isdir(seed) and not os.path.exists(target):
        import shutil

        try:
            shutil.copytree(seed, target)
        except OSError:
            pass


class FileRefused(Exception):
    pass


class FileNotFound(Exception):
    pass


def _inside(path):
    return path == WORKSPACE or path.startswith(WORKSPACE + '/')


def _resolve(rel):
    target = os.path.normpath(os.path.join(WORKSPACE, rel or '.'))
    if not _inside(target):
        raise FileRefused('path outside /workspace')
    return target


def _entry(path):
    st = os.lstat(path)
    import datetime
    import stat as statmod

    kind = 'link' if statmod.S_ISLNK(st.st_mode) else 'dir' if statmod.S_ISDIR(st.st_mode) else (
        'file' if statmod.S_ISREG(st.st_mode) else 'other')
    return {
        'name': os.path.basename(path),
        'path': os.path.relpath(path, WORKSPACE),
        'type': kind,
        'size': st.st_size,
        'modified': datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc).isoformat(),
    }


def file_op(request):
    """Files of /workspace for the session API. Links are never followed out of /workspace."""
    import mimetypes
    import shutil

    action = request['action']
    target = _resolve(request.get('path'))
    real = os.path.realpath(target)
    if not _inside(real):
        raise FileRefused('path resolves outside /workspace')
    rel = os.path.relpath(target, WORKSPACE)
    if action == 'write':
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        if os.path.realpath(parent) != parent:
            raise FileRefused('path goes through a link')
        _write_new(target, base64.b64decode(request.get('content_b64') or ''))
        return {'path': rel, 'size': os.path.getsize(target)}
    if action == 'mkdir':
        os.makedirs(target, exist_ok=True)
        return {'path': rel}
    if not os.path.lexists(target):
        raise FileNotFound('no such file or directory: ' + rel)
    if action == 'read':
        if not os.path.isfile(real):
            raise FileRefused('not a regular file: ' + rel)
        size = os.path.getsize(real)
        if size > MAX_ARTIFACT:
            raise FileRefused('file is larger than %d bytes' % MAX_ARTIFACT)
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, 'rb') as fh:
            content = fh.read()
        mime = mimetypes.guess_type(rel)[0] or 'application/octet-stream'
        return {'path': rel, 'size': len(content), 'mime': mime, 'content_b64': base64.b64encode(content).decode()}
    if action == 'list':
        if not os.path.isdir(real):
            raise FileRefused('not a directory: ' + rel)
        return {'path': rel, 'entries': [_entry(os.path.join(target, n)) for n in sorted(os.listdir(target))]}
    if action == 'delete':
        if target == WORKSPACE:
            raise FileRefused('cannot delete /workspace itself')
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        else:
            os.unlink(target)
        return {'path': rel}
    raise FileRefused('unknown file operation')


def handle_files(request):
    try:
        send(dict(file_op(request), t='files'))
        send({'t': 'done', 'exit_code': 0, 'stdout_bytes': 0, 'stderr_bytes': 0})
    except (FileRefused, FileNotFound) as e:
        send({'t': 'error', 'name': type(e).__name__, 'value': str(e), 'traceback': ''})
        send({'t': 'done', 'exit_code': 1, 'stdout_bytes': 0, 'stderr_bytes': 0})
    except OSError as e:
        send({'t': 'error', 'name': 'FileRefused', 'value': e.strerror or str(e), 'traceback': ''})
        send({'t': 'done', 'exit_code': 1, 'stdout_bytes': 0, 'stderr_bytes': 0})


def main():
    global _run
    trim = _start_process()
    _seed_matplotlib_cache()
    _install_matplotlib_backend()
    builtins.display = display
    watch_image_show(display)  # PIL's Image.show() gives an image result (python_rich.py)
    for module in filter(None, os.environ.get('EXECUTOR_PRELOAD', '').split(',')):
        try:
            __import__(module)
        except Exception as e:
            sys.stderr.write('executor: could not preload %s: %r\n' % (module, e))
    runner = Runner()
    out = Capture(1, 'stdout')
    err = Capture(2, 'stderr')
    out.start()
    err.start()
    sys.stdout = os.fdopen(1, 'w', buffering=1, encoding='utf-8', errors='backslashreplace', closefd=False)
    sys.stderr = os.fdopen(2, 'w', buffering=1, encoding='utf-8', errors='backslashreplace', closefd=False)
    # A context started beside the sandbox's first kernel may work in a folder of its own.
    cwd = os.environ.get('EXECUTOR_CWD') or WORKSPACE
    try:
        os.makedirs(cwd, exist_ok=True)
        os.chdir(cwd)
    except OSError:
        os.chdir(WORKSPACE)
    # Requests come on fd 0; the run and its children get an empty stdin (or the run's own), so
    # nothing they read can take a request meant for the kernel.
    stdin = os.fdopen(os.dup(0), 'rb')
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    _release_start_memory(trim)
    send({'t': 'ready', 'pid': os.getpid()})
    serial = 0
    while True:
        try:
            line = stdin.readline()
        except KeyboardInterrupt:  # an interrupt that came after its run had ended
            continue
        if not line:
            return
        serial += 1
        # Unguessable, so code that prints a marker cannot end the wait for its own output early.
        token = b'%d-%s' % (serial, base64.b16encode(os.urandom(8)))
        try:
            request = json.loads(line)
        except ValueError:
            continue
        _run = request.get('run')
        if request.get('op') == 'files':
            handle_files(request)
            continue
        if request.get('op') == 'reset':
            # A restart of this context: its variables and imports of user code are gone.
            if runner.shell is not None:
                runner.shell.reset(new_session=True)
            else:
                runner = Runner()
            send({'t': 'done', 'exit_code': 0, 'stdout_bytes': 0, 'stderr_bytes': 0})
            continue
        out.reset()
        err.reset()
        exit_code = 0
        error = None
        env = request.get('env') or {}
        # The run's variables are the run's: what they replaced comes back after it.
        saved_env = {k: os.environ.get(k) for k in env}
        given = request.get('stdin')
        given = given if isinstance(given, str) else ''
        try:
            write_files(request.get('files') or [])
            os.environ.update(env)
            before = snapshot_outputs()
            if request.get('language', 'python') == 'bash':
                exit_code = runner.run_bash(request['code'], dict(os.environ), given)
            else:
                sys.stdin = io.StringIO(given)
                exit_code = runner.run_python(request['code'])
                error = runner.error
            flush_figures()
            send_new_outputs(before)
        except BaseException as e:  # the kernel itself must survive anything the run does
            exit_code = 1
            error = _error(type(e).__name__, str(e), _format_exception(e, e.__traceback__))
            sys.stderr.write(error['traceback'])
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sys.stdin = io.StringIO('')
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        out.mark(token)
        err.mark(token)
        out.wait(token)
        err.wait(token)
        if error is not None:
            send(dict(error, t='error'))
        send({'t': 'done', 'exit_code': exit_code, 'stdout_bytes': out.total, 'stderr_bytes': err.total,
              'stdout_truncated': out.truncated, 'stderr_truncated': err.truncated})


main()
