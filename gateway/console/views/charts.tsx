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

const pct = (share: number) => `${(Math.max(0, Math.min(1, share)) * 100).toFixed(2)}%`;

/*
 * The charts have no viewBox: x and widths are percentages and heights pixels, so the text keeps its
 * size at 375 px and at 1280 px and only the bars stretch.
 */

/** Vertical bars, one per period (spend per day or hour). */
export const ColumnChart: FC<{ id: string; caption: string; head: [string, string]; data: Datum[] }> = ({
  id,
  caption,
  head,
  data,
}) => {
  const height = 210;
  const top = 22;
  const bottom = 24;
  const plot = height - top - bottom;
  const max = Math.max(1, ...data.map((d) => d.value));
  const n = Math.max(1, data.length);
  const every = Math.max(1, Math.ceil(n / 6));
  const sid = esc(id);
  return (
    <figure class="chart" id={sid}>
      <figcaption>{caption}</figcaption>
      <svg width="100%" height={height} role="img" aria-labelledby={`${sid}-title ${sid}-desc`}>
        <title id={`${sid}-title`}>{caption}</title>
        <desc id={`${sid}-desc`}>{summaryOf(data)}</desc>
        <text x="100%" y={14} text-anchor="end">
          highest {data.find((d) => d.value === max)?.text ?? ''}
        </text>
        <line class="axis" x1="0" x2="100%" y1={top + plot} y2={top + plot} />
        {data.map((d, i) => {
          const h = (d.value / max) * plot;
          return (
            <>
              <rect
                class="bar"
                x={pct((i + 0.125) / n)}
                y={(top + plot - h).toFixed(1)}
                width={pct(0.75 / n)}
                height={h.toFixed(1)}
              >
                <title>{`${d.label}: ${d.text}`}</title>
              </rect>
              {i % every === 0 ? (
                <text x={pct((i + 0.5) / n)} y={height - 6} text-anchor="middle">
                  {d.label}
                </text>
              ) : null}
            </>
          );
        })}
      </svg>
      <AltTable id={sid} caption={caption} head={head} data={data} />
    </figure>
  );
};

/** Horizontal bars, one per key (spend by business or agent; rates): the label and value above each bar. */
export const BarChart: FC<{
  id: string;
  caption: string;
  head: [string, string];
  data: Datum[];
  /** The value a full bar stands for (1 for rates); the largest value otherwise. */
  scale?: number;
}> = ({ id, caption, head, data, scale }) => {
  const row = 38;
  const height = Math.max(row, data.length * row);
  const max = scale ?? Math.max(1, ...data.map((d) => d.value));
  const sid = esc(id);
  return (
    <figure class="chart" id={sid}>
      <figcaption>{caption}</figcaption>
      <svg width="100%" height={height} role="img" aria-labelledby={`${sid}-title ${sid}-desc`}>
        <title id={`${sid}-title`}>{caption}</title>
        <desc id={`${sid}-desc`}>{summaryOf(data)}</desc>
        {data.map((d, i) => {
          const y = i * row;
          const label = d.label.length > 40 ? `${d.label.slice(0, 39)}…` : d.label;
          return (
            <>
              <text x="0" y={y + 13}>
                {label}
              </text>
              <text x="100%" y={y + 13} text-anchor="end">
                {d.text}
              </text>
              <rect class="track" x="0" y={y + 18} width="100%" height={12} />
              <rect class="bar" x="0" y={y + 18} width={pct(d.value / max)} height={12} />
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

/** Spend against each limit: a track for the limit, the used part, a warning colour from 80 %. */
export const LimitMeters: FC<{ id: string; caption: string; data: MeterDatum[] }> = ({
  id,
  caption,
  data,
}) => {
  const row = 46;
  const height = Math.max(row, data.length * row);
  const sid = esc(id);
  return (
    <figure class="chart" id={sid}>
      <figcaption>{caption}</figcaption>
      <svg width="100%" height={height} role="img" aria-labelledby={`${sid}-title ${sid}-desc`}>
        <title id={`${sid}-title`}>{caption}</title>
        <desc id={`${sid}-desc`}>
          {data.length === 0 ? 'No limits.' : data.map((d) => `${d.label}: ${d.text}`).join('; ')}
        </desc>
        {data.map((d, i) => {
          const y = i * row;
          const share = d.limit > 0 ? d.used / d.limit : 0;
          const tone = share >= 1 ? 'bar over' : share >= 0.8 ? 'bar warn' : 'bar';
          return (
            <>
              <text x="0" y={y + 13}>
                {d.label}
              </text>
              <rect class="track" x="0" y={y + 20} width="100%" height={16} />
              <rect class={tone} x="0" y={y + 20} width={pct(share)} height={16} />
            </>
          );
        })}
      </svg>
      <ul class="meter-text">
        {data.map((d) => (
          <li>
            <strong>{d.label}</strong>: {d.text}
          </li>
        ))}
      </ul>
    </figure>
  );
};
