import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { type App, api, type Outputs } from "../api";
import { ErrorNote, formatBytes, formatNumber, Loading } from "../ui";

type Point = Outputs["usage"]["series"][number];

/** The rollup lands every few seconds; the page follows without a reload. */
const REFRESH_MS = 5_000;

export function UsageTab({ app }: { app: App }) {
  const appId = app.id;
  const today = useQuery({
    queryKey: ["usage", appId, "today"],
    queryFn: () => api.usage.today.query({ appId }),
    refetchInterval: REFRESH_MS,
  });
  const hours = useQuery({
    queryKey: ["usage", appId, "hour"],
    queryFn: () => api.usage.series.query({ appId, granularity: "hour" }),
    refetchInterval: REFRESH_MS,
  });
  const days = useQuery({
    queryKey: ["usage", appId, "day"],
    queryFn: () => api.usage.series.query({ appId, granularity: "day" }),
    refetchInterval: REFRESH_MS * 6,
  });
  const notices = useQuery({
    queryKey: ["usage", appId, "notices"],
    queryFn: () => api.usage.notices.query({ appId }),
    refetchInterval: REFRESH_MS * 6,
  });
  const limits = useQuery({ queryKey: ["limits", appId], queryFn: () => api.apps.limits.query({ appId }) });
  const maxConnections = limits.data?.limits.maxConnections;
  return (
    <div className="stack">
      {notices.data?.map((n) => (
        <p key={n.id} className="note warn" role="status">
          {n.day}: {n.message}
        </p>
      ))}
      <div className="card">
        <h2>Today (UTC)</h2>
        {today.isPending && <Loading />}
        {today.isError && <ErrorNote error={today.error} retry={() => today.refetch()} />}
        {today.data && (
          <>
            <dl className="stats" aria-label="Usage today">
              <div>
                <dt>Messages published</dt>
                <dd data-testid="published-today">{formatNumber(today.data.published)}</dd>
              </div>
              <div>
                <dt>Messages delivered</dt>
                <dd data-testid="delivered-today">{formatNumber(today.data.delivered)}</dd>
              </div>
              <div>
                <dt>Data in / out</dt>
                <dd>
                  {formatBytes(today.data.bytesPublished)} / {formatBytes(today.data.bytesDelivered)}
                </dd>
              </div>
              <div>
                <dt>Peak connections</dt>
                <dd>
                  {formatNumber(today.data.peakConnections)}
                  {maxConnections !== undefined && (
                    <small className="muted"> of {formatNumber(maxConnections)}</small>
                  )}
                </dd>
              </div>
            </dl>
            <meter
              className={today.data.percent >= 80 ? "quota warn" : "quota"}
              aria-label="Daily message quota used"
              min={0}
              max={100}
              high={80}
              optimum={0}
              value={Math.min(100, today.data.percent)}
            />
            <p className="muted small">
              {today.data.percent.toFixed(today.data.percent < 1 ? 2 : 0)}% of{" "}
              {formatNumber(today.data.messagesPerDay)} messages a day. A message counts once when published
              and once per delivery; the quota counts publishes. Numbers arrive every few seconds.
            </p>
          </>
        )}
      </div>
      <ChartCard title="Last 24 hours" query={hours} granularity="hour" maxConnections={maxConnections} />
      <ChartCard
        title="Last 30 days"
        query={days}
        granularity="day"
        maxConnections={maxConnections}
        messagesPerDay={limits.data?.limits.messagesPerDay}
      />
    </div>
  );
}

function ChartCard({
  title,
  query,
  granularity,
  maxConnections,
  messagesPerDay,
}: {
  title: string;
  query: { data?: Point[]; isPending: boolean; isError: boolean; error: unknown; refetch: () => unknown };
  granularity: "hour" | "day";
  maxConnections: number | undefined;
  messagesPerDay?: number | undefined;
}) {
  const points = query.data;
  return (
    <div className="card">
      <h2>{title}</h2>
      {query.isPending && <Loading />}
      {query.isError && <ErrorNote error={query.error} retry={() => query.refetch()} />}
      {points && (
        <div className="charts">
          <Chart
            label={`Messages per ${granularity}`}
            points={points}
            series={MESSAGE_SERIES}
            limit={messagesPerDay === undefined ? undefined : { label: "Daily quota", value: messagesPerDay }}
          />
          <Chart
            label={`Peak connections per ${granularity}`}
            points={points}
            series={CONNECTION_SERIES}
            limit={maxConnections === undefined ? undefined : { label: "Plan limit", value: maxConnections }}
          />
        </div>
      )}
    </div>
  );
}

interface SeriesSpec {
  label: string;
  value: (p: Point) => number;
  /** A CSS custom property, so charts follow light and dark. */
  color: string;
}

const MESSAGE_SERIES: SeriesSpec[] = [
  { label: "Published", value: (p) => p.published, color: "--chart-1" },
  { label: "Delivered", value: (p) => p.delivered, color: "--chart-2" },
];
const CONNECTION_SERIES: SeriesSpec[] = [
  { label: "Peak connections", value: (p) => p.peakConnections, color: "--chart-3" },
];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/**
 * One uPlot chart. The limit is drawn as a dashed line only when the data come within a
 * tenth of it; otherwise the scale would flatten the data, and the legend still names it.
 */
function Chart({
  label,
  points,
  series,
  limit,
}: {
  label: string;
  points: Point[];
  series: SeriesSpec[];
  limit: { label: string; value: number } | undefined;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const limitLabel = limit?.label;
  const limitValue = limit?.value;
  useEffect(() => {
    const limit =
      limitLabel === undefined || limitValue === undefined
        ? undefined
        : { label: limitLabel, value: limitValue };
    const el = ref.current;
    if (!el) return;
    const xs = points.map((p) => Date.parse(p.start) / 1000);
    const ys = series.map((s) => points.map(s.value));
    const peak = Math.max(1, ...ys.flat());
    const drawLimit = limit !== undefined && peak >= limit.value / 10;
    const data: uPlot.AlignedData = [xs, ...ys, ...(drawLimit && limit ? [xs.map(() => limit.value)] : [])];
    const grid = { stroke: cssVar("--border"), width: 1 };
    const axis = { stroke: cssVar("--muted"), grid, ticks: grid };
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height: 180,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [axis, { ...axis, size: 56 }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: cssVar(s.color),
          fill: `${cssVar(s.color)}22`,
          width: 2,
          points: { show: points.length < 40 },
        })),
        ...(drawLimit && limit
          ? [{ label: limit.label, stroke: cssVar("--danger"), dash: [6, 4], width: 1.5 }]
          : []),
      ],
    };
    const plot = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(240, el.clientWidth), height: 180 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [points, series, limitLabel, limitValue]);
  const total = points.reduce((sum, p) => sum + (series[0]?.value(p) ?? 0), 0);
  return (
    <figure className="chart">
      <figcaption>
        {label}
        {limit && (
          <span className="muted small">
            {" "}
            · {limit.label}: {formatNumber(limit.value)}
          </span>
        )}
      </figcaption>
      <div ref={ref} role="img" aria-label={`${label}: ${series[0]?.label} total ${formatNumber(total)}`} />
    </figure>
  );
}
