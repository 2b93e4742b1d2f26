import type { FC } from 'hono/jsx';

/**
 * Server-rendered SVG charts for the console (issue 14, item 6): no chart library and no script in
 * the browser. Every chart is an <svg role="img"> named by its <title> and <desc>, inside a
 * <figure> with a caption, followed by the same numbers as a table (in a <details>, open by
 * default where the chart alone would not say enough).
 */

export interface Datum {
  label: string;
  value: number;
  /** The value as people read it (`$12.50`, `42 %`). */
  text: string;
}

const esc = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '-');

/** The numbers of a chart as a table: its text alternative. */
const AltTable: FC<{ id: string; caption: string; head: [string, string]; data: Datum[] }> = ({
  id,
  caption,
  head,
  data,
}) => (
  <details class="alt">
    <summary>
      Show “{caption}” as a table<span class="sr-only"> ({data.length} rows)</span>
    </summary>
    <div class="table-wrap">
      <table id={`${id}-table`}>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{head[0]}</th>
            <th scope="col" class="num">
              {head[1]}
            </th>
          </tr>
        </thead>
        <tbody>
          {data.map((d) => (
            <tr>
              <td>{d.label}</td>
              <td class="num">{d.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  </details>
);

const summaryOf = (data: Datum[]) =>
  data.length === 0 ? 'No data.' : data.map((d) => `${d.label}: ${d.text}`).join('; ');

/** Vertical bars, one per period (spend per day or hour). */
export const ColumnChart: FC<{ id: string; caption: string; head: [string, string]; data: Datum[] }> = ({
  id,
  caption,
  head,
  data,
}) => {
  const width = 640;
  const height = 220;
  const top = 12;
  const bottom = 34;
  const left = 8;
  const plot = height - top - bottom;
  const max = Math.max(1, ...data.map((d) => d.value));
  const step = data.length ? (width - left * 2) / data.length : 0;
  const bar = Math.max(1, step * 0.75);
  const every = Math.max(1, Math.ceil(data.length / 8));
  const sid = esc(id);
  return (
    <figure class="chart" id={sid}>
      <figcaption id={`${sid}-cap`}>{caption}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby={`${sid}-title ${sid}-desc`}
        preserveAspectRatio="xMidYMid meet"
      >
        <title id={`${sid}-title`}>{caption}</title>
        <desc id={`${sid}-desc`}>{summaryOf(data)}</desc>
        <line class="axis" x1={left} x2={width - left} y1={top + plot} y2={top + plot} />
        {data.map((d, i) => {
          const h = (d.value / max) * plot;
          const x = left + i * step + (step - bar) / 2;
          return (
            <>
              <rect
                class="bar"
                x={x.toFixed(1)}
                y={(top + plot - h).toFixed(1)}
                width={bar.toFixed(1)}
                height={h.toFixed(1)}
              >
                <title>{`${d.label}: ${d.text}`}</title>
              </rect>
              {i % every === 0 ? (
                <text x={(x + bar / 2).toFixed(1)} y={height - 12} text-anchor="middle">
                  {d.label}
                </text>
              ) : null}
            </>
          );
        })}
        <text x={width - left} y={top + 4} text-anchor="end">
          max {data.find((d) => d.value === max)?.text ?? ''}
        </text>
      </svg>
      <AltTable id={sid} caption={caption} head={head} data={data} />
    </figure>
  );
};

/** Horizontal bars, one per key (spend by business or agent; rates). */
export const BarChart: FC<{
  id: string;
  caption: string;
  head: [string, string];
  data: Datum[];
  /** The value a full bar stands for (1 for rates); the largest value otherwise. */
  scale?: number;
}> = ({ id, caption, head, data, scale }) => {
  const width = 640;
  const row = 30;
  const labelWidth = 200;
  const textWidth = 110;
  const height = Math.max(row, data.length * row) + 8;
  const max = scale ?? Math.max(1, ...data.map((d) => d.value));
  const span = width - labelWidth - textWidth;
  const sid = esc(id);
  return (
    <figure class="chart" id={sid}>
      <figcaption>{caption}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${sid}-title ${sid}-desc`}>
        <title id={`${sid}-title`}>{caption}</title>
        <desc id={`${sid}-desc`}>{summaryOf(data)}</desc>
        {data.map((d, i) => {
          const y = 4 + i * row;
          const w = Math.max(0, Math.min(1, d.value / max)) * span;
          const label = d.label.length > 28 ? `${d.label.slice(0, 27)}…` : d.label;
          return (
            <>
              <text x={labelWidth - 8} y={y + 18} text-anchor="end">
                {label}
              </text>
              <rect class="track" x={labelWidth} y={y + 4} width={span} height={row - 10} />
              <rect class="bar" x={labelWidth} y={y + 4} width={w.toFixed(1)} height={row - 10} />
              <text x={labelWidth + span + 8} y={y + 18}>
                {d.text}
              </text>
            </>
          );
        })}
      </svg>
      <AltTable id={sid} caption={caption} head={head} data={data} />
    </figure>
  );
};

export interface MeterDatum {
  label: string;
  used: number;
  limit: number;
  /** `$40.00 of $100.00 (40 %)`. */
  text: string;
}

/** Spend against each limit: a track for the limit, the used part, a warning colour past 80 %. */
export const LimitMeters: FC<{ id: string; caption: string; data: MeterDatum[] }> = ({
  id,
  caption,
  data,
}) => {
  const width = 640;
  const row = 44;
  const height = Math.max(row, data.length * row) + 4;
  const span = width - 16;
  const sid = esc(id);
  return (
    <figure class="chart" id={sid}>
      <figcaption>{caption}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${sid}-title ${sid}-desc`}>
        <title id={`${sid}-title`}>{caption}</title>
        <desc id={`${sid}-desc`}>
          {data.length === 0 ? 'No limits.' : data.map((d) => `${d.label}: ${d.text}`).join('; ')}
        </desc>
        {data.map((d, i) => {
          const y = i * row;
          const share = d.limit > 0 ? d.used / d.limit : 0;
          const w = Math.min(1, share) * span;
          const tone = share >= 1 ? 'bar over' : share >= 0.8 ? 'bar warn' : 'bar';
          return (
            <>
              <text x={8} y={y + 14}>
                {`${d.label} — ${d.text}`}
              </text>
              <rect class="track" x={8} y={y + 20} width={span} height={14} />
              <rect class={tone} x={8} y={y + 20} width={w.toFixed(1)} height={14} />
            </>
          );
        })}
      </svg>
      <details class="alt">
        <summary>Show “{caption}” as a table</summary>
        <div class="table-wrap">
          <table id={`${sid}-table`}>
            <caption class="sr-only">{caption}</caption>
            <thead>
              <tr>
                <th scope="col">Limit</th>
                <th scope="col" class="num">
                  Used of limit
                </th>
              </tr>
            </thead>
            <tbody>
              {data.map((d) => (
                <tr>
                  <td>{d.label}</td>
                  <td class="num">{d.text}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
};
