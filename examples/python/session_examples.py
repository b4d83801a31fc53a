"""Session management: state kept across calls, in Python and in JavaScript, output streamed as it
happens, the tenant's sessions and the service's metrics, and what a destroyed session answers.

    PYTHONPATH=libs/sdk-python python3 examples/python/session_examples.py
"""

import sys
from pathlib import Path

try:
    import executor  # noqa: F401
except ImportError:  # run from a checkout without installing the SDK
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "libs" / "sdk-python"))

from executor import ExecutorError
from executor.session import SessionManager


def main() -> None:
    with SessionManager() as manager:
        python = manager.create_session(template="default", ttl=120)
        manager.execute_in_session(python, "import math\nanswers = [math.isqrt(1764)]")
        result = manager.execute_in_session(python, "answers.append(answers[0] * 2)\nprint(answers)")
        print(f"python session {python[:8]}: {result.stdout.strip()}")

        node = manager.create_session(template="node-basic", ttl=120)
        manager.execute_in_session(node, "let total = 40", language="javascript")
        result = manager.execute_in_session(node, "total += 2; console.log(total)", language="javascript")
        print(f"javascript session {node[:8]}: {result.stdout.strip()}")

        lines = []
        manager.execute_in_session(
            python,
            "import time\nfor step in range(3):\n    print(f'step {step}', flush=True)\n    time.sleep(0.2)",
            on_stdout=lambda text: lines.append(text),
        )
        print(f"streamed: {''.join(lines).splitlines()!r}")

        states = {s.session_id: s.state for s in manager.list_sessions()}
        print(f"live sessions of this tenant: {sum(1 for s in states.values() if s == 'active')}")
        metrics = manager.metrics()
        print(f"service: {metrics['sessions_created']} sessions created, {metrics['executions_total']} executions")

        manager.destroy_session(node)
        try:
            manager.execute_in_session(node, "1", language="javascript")
        except ExecutorError as e:
            print(f"after destroy: HTTP {e.status} {e.code}")
    # Leaving the block destroyed the python session as well.


if __name__ == "__main__":
    main()
