# Rich results as data, for Executor's Python kernel: what a chart shows (its type, title,
# axes and values, for matplotlib and plotly figures) and the columns of a pandas DataFrame,
# beside the figure's PNG and the frame's HTML. Field names and meanings follow E2B's code
# interpreter, so its users find what they know.
#
# This file is the start of the kernel's one `python3 -c` program (kernel-source.ts), so its
# names share the kernel's namespace and must not clash with its (kernel-source.spec.ts checks).
# Nothing here imports matplotlib, plotly, pandas or PIL: an object of theirs can only exist
# once the user's code imported them, so their modules are looked up in sys.modules. The
# extractors never raise (a failure is None) and are bounded: a chart holds at most
# CHART_MAX_VALUES points, bars, slices, boxes, outliers and ticks, and says `truncated`.
# datetime and numbers are looked up the same way, so an idle kernel does not hold them: a date
# exists only once datetime is imported, and only numbers' import registers its ABCs.
import math
import re
import sys

RICH_CHART_MIME = 'application/vnd.executor.chart+json'
RICH_DATAFRAME_MIME = 'application/vnd.executor.dataframe+json'
RICH_PLOTLY_MIME = 'application/vnd.plotly.v1+json'
CHART_MAX_VALUES = 10000
# Axes of one figure read as sub-charts, and raw samples a plotly box may be computed from.
CHART_MAX_AXES = 100
CHART_MAX_SAMPLES = 100000
CHART_MAX_TEXT = 1000
# A larger DataFrame comes without data (its HTML and text are there, as pandas cuts them).
DF_MAX_CELLS = 100000
# A unit in a label: "Time (s)" or "Speed [m/s]", as E2B reads it.
_CHART_UNIT = re.compile(r'\s\((.*?)\)|\[(.*?)\]')


class ChartBudget:
    """How many more values one chart may hold; once spent, the chart says it is truncated."""

    def __init__(self, limit=CHART_MAX_VALUES):
        self.left = limit
        self.truncated = False

    def take(self, n):
        """How many of n values may be kept."""
        k = min(n, max(self.left, 0))
        if k < n:
            self.truncated = True
        self.left -= k
        return k

    def text(self, value):
        if value is None:
            return None
        value = str(value)
        if len(value) > CHART_MAX_TEXT:
            self.truncated = True
            return value[:CHART_MAX_TEXT]
        return value


def _rich_module(name):
    return sys.modules.get(name)


def _rich_types(module, *names):
    """The named classes of a module, if it is imported (an empty tuple matches nothing)."""
    mod = sys.modules.get(module)
    return tuple(getattr(mod, n) for n in names) if mod is not None else ()


def _rich_class(module, name):
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


def rich_scalar(value):
    """One datum as JSON: strings and numbers stay (NaN and infinities become null), dates and
    times become ISO 8601 text, any other object its text, cut to CHART_MAX_TEXT characters."""
    try:
        if value is None or isinstance(value, (bool, str, int)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, _rich_types('datetime', 'date', 'time')):
            text = value.isoformat()
            return None if text == 'NaT' else text
        if type(value).__name__ in ('NAType', 'NaTType'):
            return None
        np = _rich_module('numpy')
        if np is not None:
            if isinstance(value, np.datetime64):
                return None if np.isnat(value) else str(np.datetime_as_string(value))
            if isinstance(value, np.timedelta64):
                return None if np.isnat(value) else str(value)
            if isinstance(value, np.generic):
                return rich_scalar(value.item())
        if isinstance(value, _rich_types('numbers', 'Integral')):
            return int(value)
        if isinstance(value, _rich_types('numbers', 'Real')):
            return rich_scalar(float(value))
        return str(value)[:CHART_MAX_TEXT]
    except Exception:
        return None


def chart_round(value):
    """A statistic without float noise, as a JSON number or null. Like E2B, the larger the
    number the fewer digits are kept (8 less its decimal exponent), which also hides that
    matplotlib computes pie angles in single precision."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    if value == 0:
        return 0
    digits = max(1, 8 - math.floor(math.log10(abs(value))))
    rounded = float('%.*g' % (digits, value))
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def _chart_unit(label):
    if not label:
        return None
    match = _CHART_UNIT.search(label)
    return (match.group(1) or match.group(2)) if match else None


def _chart_axes_fields(chart, x_label, y_label, budget):
    chart['x_label'] = budget.text(x_label) or None
    chart['y_label'] = budget.text(y_label) or None
    chart['x_unit'] = _chart_unit(chart['x_label'])
    chart['y_unit'] = _chart_unit(chart['y_label'])


def _chart_swap_axes(chart):
    """Bars and boxes name their category axis x, whichever way they are drawn (as E2B does)."""
    for a, b in (('x_label', 'y_label'), ('x_unit', 'y_unit')):
        chart[a], chart[b] = chart[b], chart[a]


def chart_of(obj):
    """The chart a matplotlib Figure or a plotly figure shows, as a JSON-ready dict; None for
    anything else, for a blank figure, and when reading it fails."""
    try:
        figure = _rich_class('matplotlib.figure', 'Figure')
        if figure is not None and isinstance(obj, figure):
            return mpl_figure_chart(obj)
        plotly_figure = _rich_class('plotly.basedatatypes', 'BaseFigure')
        if plotly_figure is not None and isinstance(obj, plotly_figure):
            return chart_of_plotly(obj.to_dict())
    except Exception:
        pass
    return None


def _chart_finish(chart, budget):
    if chart is not None and budget.truncated:
        chart['truncated'] = True
    return chart


# ---------------------------------------------------------------- matplotlib


def mpl_figure_chart(fig):
    axes = fig.get_axes()
    if not any(ax.has_data() for ax in axes):
        return None
    budget = ChartBudget()
    if len(axes) == 1:
        return _chart_finish(mpl_axes_chart(axes[0], budget), budget)
    budget.truncated = len(axes) > CHART_MAX_AXES
    suptitle = fig.get_suptitle() if hasattr(fig, 'get_suptitle') else (
        fig._suptitle.get_text() if getattr(fig, '_suptitle', None) is not None else '')
    chart = {
        'type': 'superchart',
        'title': budget.text(suptitle) or None,
        'elements': [mpl_axes_chart(ax, budget) for ax in axes[:CHART_MAX_AXES]],
    }
    return _chart_finish(chart, budget)


def _mpl_children(ax):
    children = getattr(ax, '_children', None)
    if children is not None:
        return list(children)
    found = []
    for name in ('lines', 'collections', 'patches', 'texts', 'images', 'tables', 'artists'):
        found.extend(getattr(ax, name, ()))
    return found


def _mpl_is_rule(line):
    """A two-point horizontal or vertical line: a grid line, axhline or axvline, not data."""
    xs, ys = line.get_xdata(), line.get_ydata()
    return len(xs) == 2 and len(ys) == 2 and (xs[0] == xs[1] or ys[0] == ys[1])


def mpl_chart_type(ax):
    """The kind of chart an Axes holds, by the artists on it (text aside), as E2B decides it."""
    from matplotlib.collections import PathCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import PathPatch, Rectangle, Wedge
    from matplotlib.text import Text

    artists = [a for a in _mpl_children(ax) if not isinstance(a, Text)]
    if all(isinstance(a, Line2D) for a in artists):
        return 'line'
    if all(isinstance(a, (PathPatch, Line2D)) for a in artists):
        return 'box_and_whisker'
    artists = [a for a in artists if not (isinstance(a, Line2D) and _mpl_is_rule(a))]
    for kind, cls in (('scatter', PathCollection), ('pie', Wedge), ('bar', Rectangle)):
        if all(isinstance(a, cls) for a in artists):
            return kind
    return 'unknown'


def mpl_axes_chart(ax, budget):
    kind = mpl_chart_type(ax)
    chart = {'type': kind, 'title': budget.text(ax.get_title()) or None}
    if kind in ('unknown', 'pie'):
        chart['elements'] = _mpl_pie(ax, budget) if kind == 'pie' else []
        return chart
    _chart_axes_fields(chart, ax.get_xlabel(), ax.get_ylabel(), budget)
    if kind == 'bar':
        chart['elements'] = _mpl_bars(ax, chart, budget)
    elif kind == 'box_and_whisker':
        chart['elements'] = _mpl_boxes(ax, chart, budget)
    else:
        scales = {}
        for name, axis in (('x', ax.xaxis), ('y', ax.yaxis)):
            ticks, labels = _mpl_ticks(axis)
            scale = scales[name] = _mpl_scale(axis, ticks, labels)
            chart[name + '_ticks'] = [_mpl_value(t, scale) for t in ticks[: budget.take(len(ticks))]]
            chart[name + '_tick_labels'] = [budget.text(t) for t in labels[: budget.take(len(labels))]]
            chart[name + '_scale'] = scale
        if kind == 'line':
            chart['elements'] = _mpl_lines(ax, scales, budget)
        else:
            chart['elements'] = _mpl_scatter(ax, scales, budget)
    return chart


def _mpl_converter(axis):
    getter = getattr(axis, 'get_converter', None)
    return getter() if callable(getter) else getattr(axis, 'converter', None)


def _mpl_ticks(axis):
    """The major ticks of an axis, positions and labels (reading them formats them: once)."""
    return [float(t) for t in axis.get_majorticklocs()], [t.get_text() for t in axis.get_majorticklabels()]


def _mpl_scale(axis, ticks, labels):
    """linear, log (any matplotlib scale name), datetime or categorical."""
    converter = _mpl_converter(axis)
    dates = sys.modules.get('matplotlib.dates')
    date_converters = tuple(
        getattr(dates, n) for n in ('DateConverter', '_SwitchableDateConverter', 'ConciseDateConverter')
        if dates is not None and isinstance(getattr(dates, n, None), type))
    if converter is not None and date_converters and isinstance(converter, date_converters):
        return 'datetime'
    scale = axis.get_scale()
    if scale != 'linear':
        return scale
    if converter is not None and type(converter).__module__ == 'matplotlib.category':
        return 'categorical'
    # Categories drawn at 0..n-1 with their own labels (pandas' bar plots, set_xticklabels).
    if ticks and len(ticks) == len(labels) and all(
            t == i and lab and lab != str(i) for i, (t, lab) in enumerate(zip(ticks, labels))):
        return 'categorical'
    return 'linear'


def _mpl_value(value, scale):
    """A coordinate as data: on a datetime axis a number is a matplotlib date, made ISO text."""
    if scale == 'datetime' and isinstance(value, (int, float) + _rich_types('numbers', 'Real')) and not isinstance(value, bool):
        try:
            from matplotlib.dates import num2date

            return num2date(float(value)).isoformat()
        except Exception:
            return None
    return rich_scalar(value)


def _mpl_lines(ax, scales, budget):
    elements = []
    for line in ax.get_lines():
        if _mpl_is_rule(line):
            continue
        label = line.get_label()
        if label.startswith('_child') and label[6:].isdigit():
            label = 'Line ' + label[6:]
        xs, ys = line.get_xdata(), line.get_ydata()
        n = budget.take(min(len(xs), len(ys)))
        points = [[_mpl_value(x, scales['x']), _mpl_value(y, scales['y'])] for x, y in zip(xs[:n], ys[:n])]
        elements.append({'label': budget.text(label), 'points': points})
    return elements


def _mpl_scatter(ax, scales, budget):
    elements = []
    for collection in ax.collections:
        offsets = collection.get_offsets()
        if hasattr(offsets, 'filled'):
            offsets = offsets.filled(float('nan'))
        n = budget.take(len(offsets))
        points = [[_mpl_value(float(x), scales['x']), _mpl_value(float(y), scales['y'])] for x, y in offsets[:n]]
        elements.append({'label': budget.text(collection.get_label()), 'points': points})
    return elements


def _mpl_tick_namer(axis):
    """Names a position on an axis of categories or of labels set for its ticks (boxplot's
    `labels`): by the label of the tick there, or of its nearest one (grouped bars sit beside
    their tick). On any other axis, by the position itself."""
    import bisect

    ticks, labels = _mpl_ticks(axis)
    scale = _mpl_scale(axis, ticks, labels)
    labelled = scale == 'categorical' or type(axis.get_major_formatter()).__name__ == 'FixedFormatter'
    named = sorted((t, lab) for t, lab in zip(ticks, labels) if lab)
    places = [t for t, _ in named]

    def name(position):
        tolerance = 1e-9 * max(1.0, abs(position))
        i = bisect.bisect_left(places, position - tolerance)
        if labelled and i < len(named) and abs(named[i][0] - position) <= tolerance:
            return named[i][1]
        if labelled and named:
            near = min(named[max(i - 1, 0) : i + 1], key=lambda tick: abs(tick[0] - position))
            return near[1]
        value = _mpl_value(position, scale)
        return value if isinstance(value, str) else '%g' % position

    return name


def _mpl_bars(ax, chart, budget):
    from matplotlib.container import BarContainer

    elements = []
    swapped = False
    for container in ax.containers:
        if not isinstance(container, BarContainer):
            continue
        group = container.get_label()
        if group.startswith('_container') and group[10:].isdigit():
            group = 'Group ' + group[10:]
        rects = list(container)[: budget.take(len(container))]
        orientation = getattr(container, 'orientation', None)
        if orientation is None:  # older matplotlib: bars of one height are horizontal ones
            orientation = 'horizontal' if len({r.get_height() for r in rects}) == 1 else 'vertical'
        horizontal = orientation == 'horizontal'
        if horizontal and not swapped and not elements:
            _chart_swap_axes(chart)
            swapped = True
        values = getattr(container, 'datavalues', None)
        if values is None or len(values) < len(rects):
            values = [r.get_width() if horizontal else r.get_height() for r in rects]
        name = _mpl_tick_namer(ax.yaxis if horizontal else ax.xaxis)
        for rect, value in zip(rects, values):
            centre = rect.get_y() + rect.get_height() / 2 if horizontal else rect.get_x() + rect.get_width() / 2
            elements.append({
                'label': budget.text(name(centre)),
                'group': budget.text(group),
                'value': rich_scalar(value),
            })
    return elements


def _mpl_pie(ax, budget):
    from matplotlib.patches import Wedge

    wedges = [p for p in ax.patches if isinstance(p, Wedge)]
    return [
        {'label': budget.text(w.get_label()), 'angle': chart_round(abs(w.theta2 - w.theta1)), 'radius': chart_round(w.r)}
        for w in wedges[: budget.take(len(wedges))]
    ]


def _chart_near(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _mpl_box_index(extents, vertical):
    """The boxes by position (a box spans p0..p1 on its category axis, q1..q3 on its value
    axis) and a lookup of the box at a position."""
    import bisect

    boxes = sorted(
        ({'p0': e[0], 'p1': e[1], 'q1': e[2], 'q3': e[3]} if vertical else
         {'p0': e[2], 'p1': e[3], 'q1': e[0], 'q3': e[1]} for e in extents),
        key=lambda box: box['p0'])
    starts = [box['p0'] for box in boxes]

    def box_at(position):
        i = bisect.bisect_right(starts, position + 1e-6 * max(1.0, abs(position))) - 1
        if i >= 0 and position <= boxes[i]['p1'] + 1e-6 * max(1.0, abs(position)):
            return boxes[i]
        return None

    return boxes, box_at


def _mpl_is_median(box, ps, vs):
    """A line across the whole box at one value (caps are narrower)."""
    return (len(ps) == 2 and len(vs) == 2 and _chart_near(vs[0], vs[1])
            and _chart_near(min(ps), box['p0']) and _chart_near(max(ps), box['p1']))


def _mpl_boxes(ax, chart, budget):
    """Box plots read back from their artists: a box patch per box (q1 to q3), the median
    line across it, whiskers from the box to the furthest datum within 1.5 IQR (or whatever
    `whis` said) and marker-only lines (fliers) beyond them."""
    from matplotlib.patches import PathPatch

    patches = [p for p in ax.patches if isinstance(p, PathPatch)]
    extents = []
    for patch in patches[: budget.take(len(patches))]:
        v = patch.get_path().vertices
        extents.append((float(v[:, 0].min()), float(v[:, 0].max()), float(v[:, 1].min()), float(v[:, 1].max())))
    import matplotlib

    lines = []
    # Means (showmeans) are marker-only lines too: told from fliers by their marker.
    mean_marker = matplotlib.rcParams['boxplot.meanprops.marker']
    flier_marker = matplotlib.rcParams['boxplot.flierprops.marker']
    for line in list(ax.get_lines())[: 20 * len(extents) + 20]:
        xs = [float(x) for x in line.get_xdata()[:CHART_MAX_VALUES]]
        ys = [float(y) for y in line.get_ydata()[:CHART_MAX_VALUES]]
        markers_only = str(line.get_linestyle()).lower() in ('none', '', ' ')
        if markers_only and mean_marker != flier_marker and line.get_marker() == mean_marker:
            continue
        if len(xs) == len(ys) and xs:
            lines.append((markers_only, xs, ys))

    def medians(vertical):
        _, box_at = _mpl_box_index(extents, vertical)
        found = 0
        for markers_only, xs, ys in lines:
            ps, vs = (xs, ys) if vertical else (ys, xs)
            box = box_at((ps[0] + ps[-1]) / 2)
            found += not markers_only and box is not None and _mpl_is_median(box, ps, vs)
        return found

    vertical = medians(True) >= medians(False)
    if not vertical:
        _chart_swap_axes(chart)
    boxes, box_at = _mpl_box_index(extents, vertical)
    for box in boxes:
        box.update(median=None, min=box['q1'], max=box['q3'], fliers=[])
    for markers_only, xs, ys in lines:
        ps, vs = (xs, ys) if vertical else (ys, xs)
        if markers_only:
            for p, v in zip(ps, vs):
                box = box_at(p)
                if box is not None:
                    box['fliers'].append(v)
            continue
        box = box_at((ps[0] + ps[-1]) / 2) if len(ps) == 2 else None
        if box is None:
            continue
        if _mpl_is_median(box, ps, vs):
            box['median'] = vs[0]
        elif _chart_near(ps[0], ps[1]) and _chart_near(max(vs), box['q1']):
            box['min'] = min(vs)
        elif _chart_near(ps[0], ps[1]) and _chart_near(min(vs), box['q3']):
            box['max'] = max(vs)
    name = _mpl_tick_namer(ax.xaxis if vertical else ax.yaxis)
    elements = []
    for box in boxes:
        outliers = [v for v in box['fliers'] if v < box['min'] or v > box['max']]
        elements.append({
            'label': budget.text(name((box['p0'] + box['p1']) / 2)),
            'min': chart_round(box['min']),
            'first_quartile': chart_round(box['q1']),
            'median': chart_round(box['median']) if box['median'] is not None else None,
            'third_quartile': chart_round(box['q3']),
            'max': chart_round(box['max']),
            'outliers': [chart_round(v) for v in outliers[: budget.take(len(outliers))]],
        })
    return elements


# ---------------------------------------------------------------- plotly

_PLOTLY_CARTESIAN = ('scatter', 'scattergl', 'bar', 'box', 'histogram', 'violin', 'heatmap', 'contour',
                     'candlestick', 'ohlc', 'waterfall', 'funnel', 'image', 'histogram2d')


def _plotly_text(value):
    """A plotly title: a string, or a dict with its text."""
    if isinstance(value, dict):
        value = value.get('text')
    return value if isinstance(value, str) and value else None


def _plotly_array(value):
    """A plotly data array as a sequence: lists, tuples, numpy arrays, or the typed arrays of
    plotly's JSON ({dtype, bdata}: base64 of little-endian values)."""
    if value is None or isinstance(value, (str, bytes, dict)) and not (
            isinstance(value, dict) and 'bdata' in value and 'dtype' in value):
        return None
    if isinstance(value, dict):
        import array
        import base64

        codes = {'i1': 'b', 'u1': 'B', 'i2': 'h', 'u2': 'H', 'i4': 'i', 'u4': 'I', 'f4': 'f', 'f8': 'd'}
        code = codes.get(str(value['dtype']).lstrip('<|'))
        if code is None:
            return None
        out = array.array(code)
        out.frombytes(base64.b64decode(value['bdata'])[: CHART_MAX_SAMPLES * out.itemsize])
        if sys.byteorder == 'big':
            out.byteswap()
        return out
    try:
        len(value)
        return value
    except TypeError:
        return None


def _plotly_list(value):
    """A plotly data array, or an empty list."""
    found = _plotly_array(value)
    return found if found is not None else []


def _plotly_subplot(trace):
    kind = trace.get('type') or 'scatter'
    if kind in _PLOTLY_CARTESIAN:
        return ('cartesian', trace.get('xaxis') or 'x', trace.get('yaxis') or 'y')
    return (kind, repr(trace.get('domain')))


def _plotly_kind(trace):
    kind = trace.get('type') or 'scatter'
    if kind in ('scatter', 'scattergl'):
        mode = trace.get('mode') or 'lines+markers'  # plotly's default, with or without markers
        return 'line' if 'lines' in mode else 'scatter' if 'markers' in mode else 'unknown'
    return {'bar': 'bar', 'pie': 'pie', 'box': 'box_and_whisker'}.get(kind, 'unknown')


def _plotly_axis(layout, ref):
    """The layout of an axis named by a trace ('x', 'y2') as 'xaxis', 'yaxis2'."""
    axis = layout.get(ref[0] + 'axis' + ref[1:])
    return axis if isinstance(axis, dict) else {}


def _plotly_scale(axis, samples):
    kind = axis.get('type')
    if kind in ('log', 'linear'):
        return kind
    if kind == 'date':
        return 'datetime'
    if kind in ('category', 'multicategory'):
        return 'categorical'
    # '-' or unset: plotly guesses from the data, so do we
    np = _rich_module('numpy')
    for value in samples:
        if value is None:
            continue
        if isinstance(value, _rich_types('datetime', 'date', 'datetime')) or (np is not None and isinstance(value, np.datetime64)):
            return 'datetime'
        if isinstance(value, str):
            from datetime import datetime as _datetime

            try:
                _datetime.fromisoformat(value.replace(' ', 'T'))
                return 'datetime'
            except ValueError:
                return 'categorical'
        return 'linear'
    return 'linear'


def _plotly_xy(trace):
    """x and y of a trace; a missing one counts from x0/y0 by dx/dy, as plotly draws it."""
    xs, ys = _plotly_array(trace.get('x')), _plotly_array(trace.get('y'))
    if xs is None and ys is not None:
        x0, dx = trace.get('x0', 0), trace.get('dx', 1)
        xs = range(len(ys)) if (x0, dx) == (0, 1) else [x0 + dx * i for i in range(min(len(ys), CHART_MAX_SAMPLES))]
    if ys is None and xs is not None:
        y0, dy = trace.get('y0', 0), trace.get('dy', 1)
        ys = range(len(xs)) if (y0, dy) == (0, 1) else [y0 + dy * i for i in range(min(len(xs), CHART_MAX_SAMPLES))]
    return xs, ys


def _plotly_name(trace, index):
    name = trace.get('name')
    return name if isinstance(name, str) and name else 'trace %d' % index


def chart_of_plotly(spec):
    """The chart of a plotly figure given as its JSON ({data, layout}, what the
    application/vnd.plotly.v1+json MIME type carries); None when there is nothing to read."""
    try:
        traces = spec.get('data') if isinstance(spec, dict) else None
        layout = spec.get('layout') if isinstance(spec, dict) else None
        layout = layout if isinstance(layout, dict) else {}
        if not isinstance(traces, (list, tuple)) or not traces:
            return None
        budget = ChartBudget()
        groups = {}
        for index, trace in enumerate(traces[: budget.take(len(traces))]):
            if isinstance(trace, dict):
                groups.setdefault(_plotly_subplot(trace), []).append((index, trace))
        if not groups:
            return None
        title = budget.text(_plotly_text(layout.get('title')))
        if len(groups) == 1:
            chart = _plotly_chart(next(iter(groups.items())), layout, budget)
            chart['title'] = title
        else:
            chart = {'type': 'superchart', 'title': title,
                     'elements': [_plotly_chart(group, layout, budget, True) for group in groups.items()]}
        return _chart_finish(chart, budget)
    except Exception:
        return None


def _plotly_subplot_title(key, layout):
    """make_subplots writes a subplot's title as an annotation centred above its axes."""
    if key[0] != 'cartesian':
        return None
    xd = _plotly_axis(layout, key[1]).get('domain') or [0, 1]
    yd = _plotly_axis(layout, key[2]).get('domain') or [0, 1]
    for note in layout.get('annotations') or ():
        if (isinstance(note, dict) and note.get('xref') == 'paper' and note.get('yref') == 'paper'
                and isinstance(note.get('x'), (int, float)) and isinstance(note.get('y'), (int, float))
                and abs(note['x'] - (xd[0] + xd[1]) / 2) < 1e-6 and abs(note['y'] - yd[1]) < 1e-6):
            return _plotly_text(note)
    return None


def _plotly_chart(group, layout, budget, sub=False):
    key, traces = group
    kinds = {_plotly_kind(t) for _, t in traces}
    kind = kinds.pop() if len(kinds) == 1 else 'unknown'
    chart = {'type': kind, 'title': budget.text(_plotly_subplot_title(key, layout)) if sub else None}
    if kind in ('unknown', 'pie'):
        chart['elements'] = _plotly_pie(traces, budget) if kind == 'pie' else []
        return chart
    x_axis = _plotly_axis(layout, key[1])
    y_axis = _plotly_axis(layout, key[2])
    _chart_axes_fields(chart, _plotly_text(x_axis.get('title')), _plotly_text(y_axis.get('title')), budget)
    if kind == 'bar':
        chart['elements'] = _plotly_bars(traces, chart, budget)
        return chart
    if kind == 'box_and_whisker':
        chart['elements'] = _plotly_boxes(traces, chart, budget)
        return chart
    columns = [_plotly_xy(t) for _, t in traces]
    for name, axis, pick in (('x', x_axis, 0), ('y', y_axis, 1)):
        samples = [c[pick][0] for c in columns if c[pick] is not None and len(c[pick])]
        ticks = _plotly_list(axis.get('tickvals'))
        labels = _plotly_list(axis.get('ticktext'))
        chart[name + '_ticks'] = [rich_scalar(t) for t in list(ticks[: budget.take(len(ticks))])]
        chart[name + '_tick_labels'] = [budget.text(t) for t in list(labels[: budget.take(len(labels))])]
        chart[name + '_scale'] = _plotly_scale(axis, samples)
    elements = []
    for (index, trace), (xs, ys) in zip(traces, columns):
        if xs is None or ys is None:
            continue
        n = budget.take(min(len(xs), len(ys)))
        points = [[rich_scalar(x), rich_scalar(y)] for x, y in zip(xs[:n], ys[:n])]
        elements.append({'label': budget.text(_plotly_name(trace, index)), 'points': points})
    chart['elements'] = elements
    return chart


def _plotly_bars(traces, chart, budget):
    elements = []
    for index, trace in traces:
        horizontal = trace.get('orientation') == 'h'
        if horizontal and not elements:
            _chart_swap_axes(chart)
        xs, ys = _plotly_xy(trace)
        categories, values = (ys, xs) if horizontal else (xs, ys)
        if categories is None or values is None:
            continue
        group = budget.text(_plotly_name(trace, index))
        n = budget.take(min(len(categories), len(values)))
        for category, value in zip(categories[:n], values[:n]):
            label = rich_scalar(category)
            elements.append({'label': budget.text('' if label is None else label), 'group': group,
                             'value': rich_scalar(value)})
    return elements


def _plotly_pie(traces, budget):
    elements = []
    for _, trace in traces:
        labels = _plotly_array(trace.get('labels'))
        values = _plotly_array(trace.get('values'))
        if labels is None and values is None:
            continue
        if labels is None:
            labels = range(len(values))
        totals = {}  # plotly sums the values of equal labels; without values, it counts them
        for i, label in enumerate(labels[:CHART_MAX_SAMPLES]):
            if values is not None and i >= len(values):
                break
            value = rich_scalar(values[i]) if values is not None else 1
            if isinstance(value, (int, float)) and value > 0:
                key = rich_scalar(label)
                totals[key] = totals.get(key, 0) + value
        whole = sum(totals.values())
        items = list(totals.items())
        for label, value in items[: budget.take(len(items))]:
            elements.append({'label': budget.text('' if label is None else label),
                             'angle': chart_round(360.0 * value / whole), 'radius': 1})
    return elements


def _chart_quantile(ordered, q):
    """Linear interpolation between closest ranks (numpy's default, plotly's 'linear')."""
    at = (len(ordered) - 1) * q
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def _chart_box(label, samples, budget):
    ordered = sorted(samples)
    q1, median, q3 = (_chart_quantile(ordered, q) for q in (0.25, 0.5, 0.75))
    low_fence, high_fence = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    inside = [v for v in ordered if low_fence <= v <= high_fence] or ordered
    outliers = [v for v in samples if v < low_fence or v > high_fence]
    return {
        'label': label, 'min': chart_round(inside[0]), 'first_quartile': chart_round(q1),
        'median': chart_round(median), 'third_quartile': chart_round(q3), 'max': chart_round(inside[-1]),
        'outliers': [chart_round(v) for v in outliers[: budget.take(len(outliers))]],
    }


def _plotly_boxes(traces, chart, budget):
    """Boxes from their samples (one per trace, or per category of the trace's other axis),
    with the fences at 1.5 IQR as plotly draws them; or from precomputed q1/median/q3."""
    elements = []
    horizontal_seen = False
    for index, trace in traces:
        name = budget.text(_plotly_name(trace, index))
        xs, ys = _plotly_array(trace.get('x')), _plotly_array(trace.get('y'))
        horizontal = trace.get('orientation') == 'h' or (ys is None and xs is not None and trace.get('orientation') != 'v')
        if horizontal and not horizontal_seen and not elements:
            _chart_swap_axes(chart)
        horizontal_seen = horizontal_seen or horizontal
        values, positions = (xs, ys) if horizontal else (ys, xs)
        q1 = _plotly_array(trace.get('q1'))
        if q1 is not None:  # statistics given, not samples
            median, q3 = _plotly_list(trace.get('median')), _plotly_list(trace.get('q3'))
            low = _plotly_array(trace.get('lowerfence'))
            high = _plotly_array(trace.get('upperfence'))
            low, high = (q1 if low is None else low), (q3 if high is None else high)
            n = budget.take(min(len(q1), len(median), len(q3), len(low), len(high)))
            for i in range(n):
                label = rich_scalar(positions[i]) if positions is not None and i < len(positions) else name
                elements.append({'label': budget.text(label), 'min': chart_round(low[i]),
                                 'first_quartile': chart_round(q1[i]), 'median': chart_round(median[i]),
                                 'third_quartile': chart_round(q3[i]), 'max': chart_round(high[i]),
                                 'outliers': []})
            continue
        if values is None:
            continue
        count = min(len(values), CHART_MAX_SAMPLES)
        if count < len(values):
            budget.truncated = True
        by_label = {}
        for i in range(count):
            value = rich_scalar(values[i])
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            label = name if positions is None or i >= len(positions) else rich_scalar(positions[i])
            by_label.setdefault(label, []).append(value)
        items = list(by_label.items())
        for label, samples in items[: budget.take(len(items))]:
            elements.append(_chart_box(budget.text('' if label is None else label), samples, budget))
    return elements


# ---------------------------------------------------------------- pandas


def dataframe_of(obj):
    """A pandas DataFrame's columns as {column: [values, ...]} (E2B's `data`: the index left
    out, dates as ISO text, NaN as null); None for anything else and for frames of more than
    DF_MAX_CELLS cells."""
    try:
        frame = _rich_class('pandas', 'DataFrame')
        if frame is None or not isinstance(obj, frame):
            return None
        rows, columns = obj.shape
        if rows * columns > DF_MAX_CELLS or columns > DF_MAX_CELLS:
            return None
        data = {}
        for name, column in obj.items():
            key = name if isinstance(name, str) else str(rich_scalar(name) if not isinstance(name, tuple) else name)
            data[key] = [rich_scalar(v) for v in column.tolist()]
        return data
    except Exception:
        return None


# ---------------------------------------------------------------- hooks for the kernel


def add_rich_data(bundle, obj):
    """Adds the chart and DataFrame data of obj to its MIME bundle (keys already there stay)."""
    for mime, extract in ((RICH_CHART_MIME, chart_of), (RICH_DATAFRAME_MIME, dataframe_of)):
        if mime not in bundle:
            value = extract(obj)
            if value is not None:
                bundle[mime] = value
    return bundle


def add_plotly_chart(bundle):
    """A bundle that carries a plotly figure as JSON (fig.show(), IPython) gets its chart."""
    if isinstance(bundle, dict) and RICH_PLOTLY_MIME in bundle and RICH_CHART_MIME not in bundle:
        chart = chart_of_plotly(bundle[RICH_PLOTLY_MIME])
        if chart is not None:
            bundle = dict(bundle)
            bundle[RICH_CHART_MIME] = chart
    return bundle


def register_rich_formatters(shell):
    """IPython's display formatter gains the chart and DataFrame types, so every value and
    display() call carries them, as E2B's kernel does; they run after the PNG formatter."""
    from IPython.core.formatters import BaseFormatter
    from traitlets import Unicode

    class ChartFormatter(BaseFormatter):
        format_type = Unicode(RICH_CHART_MIME)

        def __call__(self, obj):
            return chart_of(obj)

    class DataFrameFormatter(BaseFormatter):
        format_type = Unicode(RICH_DATAFRAME_MIME)

        def __call__(self, obj):
            return dataframe_of(obj)

    formatters = shell.display_formatter.formatters
    formatters[RICH_CHART_MIME] = ChartFormatter(parent=shell.display_formatter)
    formatters[RICH_DATAFRAME_MIME] = DataFrameFormatter(parent=shell.display_formatter)


class _ImageShowWatch:
    """An import hook: once PIL.ImageShow is loaded, Image.show() displays the image as a
    result (PIL's own viewers would look for a desktop the sandbox has not got)."""

    def __init__(self, display):
        self.display = display

    def viewer(self):
        display = self.display

        class ResultViewer:
            def show(self, image, **options):
                display(image)
                return 1

        return ResultViewer()

    def find_spec(self, name, path=None, target=None):
        if name != 'PIL.ImageShow':
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, 'exec_module'):
            return spec
        watch, loader = self, spec.loader

        class Loader:
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                module.register(watch.viewer(), -1)

        spec.loader = Loader()
        return spec


def watch_image_show(display):
    shown = sys.modules.get('PIL.ImageShow')
    if shown is not None:
        shown.register(_ImageShowWatch(display).viewer(), -1)
    else:
        sys.meta_path.insert(0, _ImageShowWatch(display))
