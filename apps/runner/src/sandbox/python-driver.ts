/**
 * The in-sandbox driver for one-off Python runs, passed as `python3 -c` so it needs
 * nothing baked into the image. It reads one JSON line from stdin
 * (`{code, files:[{path, content_b64}]}`), writes the files under /workspace without
 * following links, then runs the code as `__main__` and prints exceptions the way
 * Python does, without the driver's own frames.
 */
export const PYTHON_DRIVER = String.raw`
import base64, json, linecache, os, sys, traceback

def _executor_write_files(files):
    ws = '/workspace'
    for f in files:
        target = os.path.normpath(os.path.join(ws, f['path']))
        if not target.startswith(ws + '/'):
            raise ValueError('file path outside /workspace: ' + f['path'])
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        if os.path.realpath(parent) != parent:
            raise ValueError('file path goes through a link: ' + f['path'])
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, 'wb') as fh:
            fh.write(base64.b64decode(f['content_b64']))

def _executor_main():
    request = json.loads(sys.stdin.buffer.readline())
    _executor_write_files(request.get('files') or [])
    code = request['code']
    del request
    name = '<code>'
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    scope = {'__name__': '__main__', '__builtins__': __builtins__, '__doc__': None}
    sys.argv = ['<code>']
    try:
        exec(compile(code, name, 'exec'), scope)
    except SystemExit:
        raise
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != name:
            tb = tb.tb_next
        sys.stdout.flush()
        if tb is not None:
            traceback.print_exception(type(e), e, tb)
        else:
            traceback.print_exception(type(e), e, None)
        sys.stderr.flush()
        os._exit(1)

_executor_main()
`;
