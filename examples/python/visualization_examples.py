"""Visualization and data analysis: a matplotlib plot, a multi-plot dashboard, a pandas analysis
and a follow-up that reuses the DataFrame of the run before. PNGs land in examples/output/python/
(or the folder given as the first argument).

    PYTHONPATH=libs/sdk-python python3 examples/python/visualization_examples.py
"""

import sys
from pathlib import Path

try:
    import executor  # noqa: F401
except ImportError:  # run from a checkout without installing the SDK
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "libs" / "sdk-python"))

from executor.interpreter import CodeInterpreter
from executor.sandbox import CodeSandbox

PLOT = """
import numpy as np
import matplotlib.pyplot as plt
x = np.linspace(0, 2 * np.pi, 200)
plt.plot(x, np.sin(x), label='sin')
plt.plot(x, np.cos(x), label='cos')
plt.legend(); plt.title('A plot')
plt.show()
"""

DASHBOARD = """
import pandas as pd
rng = np.random.default_rng(7)
df = pd.DataFrame({'day': range(30), 'sales': rng.integers(50, 150, 30), 'visits': rng.integers(200, 900, 30)})
fig, axes = plt.subplots(2, 2, figsize=(10, 7))
df.plot(x='day', y='sales', ax=axes[0, 0], title='Sales')
df.plot(x='day', y='visits', ax=axes[0, 1], title='Visits', color='orange')
df['sales'].plot.hist(ax=axes[1, 0], title='Sales distribution')
df.plot.scatter(x='visits', y='sales', ax=axes[1, 1], title='Sales vs visits')
fig.tight_layout()
plt.show()
"""


def main(output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    with CodeSandbox(template="python-data") as sandbox:
        interpreter = CodeInterpreter(sandbox)
        for label, code in (("plot", PLOT), ("dashboard", DASHBOARD)):
            result = interpreter.run(code)
            if result.error:
                raise SystemExit(f"{label} failed: {result.error.name}: {result.error.value}")
            for i, artifact in enumerate(a for a in result.artifacts if a.type == "image/png"):
                saved = artifact.save(output_dir / f"{label}-{i + 1}.png")
                print(f"Artifact: {artifact.name} ({artifact.type}, {artifact.size} bytes) -> {saved}")

        analysis = interpreter.run("df.describe().loc[['mean', 'max']].round(1)")
        print("Summary of the sales data:")
        print(analysis.text)

        follow_up = interpreter.run(
            "print(f\"best day: {int(df.loc[df.sales.idxmax(), 'day'])}, "
            "correlation: {df.sales.corr(df.visits):.2f}\")"
        )
        print(follow_up.stdout.strip())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd() / "examples" / "output" / "python")
