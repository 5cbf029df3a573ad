/**
 * Trail replay from the vehicle card: pick a range (the last hour, 24 h, one of the car's rentals, or custom), load
 * the car's track from the server (`GET /ops/v1/vehicles/{id}/track`, at most 2,000 points, stops and offline gaps)
 * and play, pause or scrub it at ×1 to ×60 — the map draws the track with a marker following (TrackLayer) and the
 * timeline drawer marks the entry of the replayed moment.
 */
import { useEffect, useState } from 'react';
import type { RentalDoc } from '../../../../shared/sync-protocol.js';
import { TRACK_DEFAULT_POINTS, TRACK_MAX_RANGE_MS, type Track } from '../../../../shared/track.js';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { formatDateTime, formatSpeed } from '../../lib/format';
import { positionAt, REPLAY_SPEEDS, replayStore, useReplay } from './replay-store';
import './replay.css';

const HOUR = 3_600_000;
const TICK_MS = 100;

/** `datetime-local` value of an instant, in the desk's time zone */
const localInput = (ms: number) => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

export function TrackReplay({ vehicleId, now }: { vehicleId: string; now: number }) {
  const r = useReplica();
  const replay = useReplay();
  const [open, setOpen] = useState(false);
  const [range, setRange] = useState('hour');
  const [customFrom, setCustomFrom] = useState(() => localInput(now - HOUR));
  const [customTo, setCustomTo] = useState(() => localInput(now));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const rentals = useLiveQuery<RentalDoc>(
    open ? r?.db.rentals : undefined,
    { selector: { vehicleId, kind: 'rental' }, sort: [{ startsAt: 'desc' }], limit: 10 },
    `replay|${vehicleId}`,
  );
  const mine = replay?.vehicleId === vehicleId ? replay : undefined;

  // another car selected, or the card closed: the replay ends
  useEffect(() => () => replayStore.set(undefined), [vehicleId]);

  // playing: the replayed instant advances `speed` times as fast as the clock
  const playing = mine?.playing ?? false;
  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => {
      const s = replayStore.get();
      if (!s?.playing) return;
      const end = s.track.points.at(-1)?.at ?? s.track.to;
      const at = Math.min(end, s.at + TICK_MS * s.speed);
      replayStore.update({ at, playing: at < end });
    }, TICK_MS);
    return () => clearInterval(timer);
  }, [playing]);

  if (!r) return null;
  const period = (): [number, number] | string => {
    if (range === 'hour') return [now - HOUR, now];
    if (range === 'day') return [now - 24 * HOUR, now];
    if (range === 'custom') {
      const from = new Date(customFrom).getTime();
      const to = new Date(customTo).getTime();
      if (!Number.isFinite(from) || !Number.isFinite(to)) return 'pick both ends of the range';
      return [from, to];
    }
    const rental = rentals.find((x) => x.id === range);
    if (!rental) return 'pick a range';
    return [rental.startedAt ?? rental.startsAt, rental.endedAt ?? rental.endsAt ?? now];
  };
  const load = () => {
    const p = period();
    if (typeof p === 'string') return setError(p);
    const [from, to] = p;
    if (from > to) return setError('the range ends before it starts');
    if (to - from > TRACK_MAX_RANGE_MS) return setError('a replay covers at most 7 days');
    setBusy(true);
    setError(undefined);
    r.staffGet<Track>(
      `/ops/v1/vehicles/${encodeURIComponent(vehicleId)}/track?from=${from}&to=${to}&maxPoints=${TRACK_DEFAULT_POINTS}`,
    ).then(
      (track) => {
        setBusy(false);
        replayStore.set({ vehicleId, track, at: track.points[0]?.at ?? track.from, playing: false, speed: mine?.speed ?? 10 });
      },
      (err: unknown) => {
        setBusy(false);
        setError(`no track: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  };

  if (!open)
    return (
      <button type="button" className="text-button" data-testid="open-replay" onClick={() => setOpen(true)}>
        Replay
      </button>
    );
  const track = mine?.track;
  const start = track?.points[0]?.at ?? track?.from ?? 0;
  const end = track?.points.at(-1)?.at ?? track?.to ?? 0;
  const here = track && mine ? positionAt(track, mine.at) : undefined;
  return (
    <div className="track-replay" data-testid="track-replay">
      <div className="ops-row">
        <span className="ops-label">Replay</span>
        <select value={range} onChange={(e) => setRange(e.target.value)} aria-label="Replay range" data-testid="replay-range">
          <option value="hour">last hour</option>
          <option value="day">last 24 h</option>
          {rentals.map((x) => (
            <option key={x.id} value={x.id}>
              rental {formatDateTime(x.startedAt ?? x.startsAt)}
            </option>
          ))}
          <option value="custom">custom…</option>
        </select>
        <button type="button" onClick={load} disabled={busy} data-testid="replay-load">
          {busy ? 'Loading…' : 'Show'}
        </button>
        <button
          type="button"
          className="text-button"
          onClick={() => {
            replayStore.set(undefined);
            setOpen(false);
          }}
        >
          Close
        </button>
      </div>
      {range === 'custom' ? (
        <div className="ops-row">
          <input type="datetime-local" value={customFrom} onChange={(e) => setCustomFrom(e.target.value)} aria-label="Replay from" />
          <input type="datetime-local" value={customTo} onChange={(e) => setCustomTo(e.target.value)} aria-label="Replay to" />
        </div>
      ) : null}
      {error ? <div className="ops-error">{error}</div> : null}
      {track && mine ? (
        <>
          <div className="muted replay-summary" data-testid="replay-summary">
            {track.points.length
              ? `${track.points.length} points of ${track.samples} samples · ${track.stops.length} stop(s) · ${track.gaps.length} gap(s) without telemetry`
              : 'no telemetry in this range'}
          </div>
          {track.points.length ? (
            <>
              <div className="ops-row">
                <button
                  type="button"
                  data-testid="replay-play"
                  onClick={() => replayStore.update({ playing: !mine.playing, at: mine.at >= end ? start : mine.at })}
                >
                  {mine.playing ? 'Pause' : 'Play'}
                </button>
                <select
                  value={mine.speed}
                  onChange={(e) => replayStore.update({ speed: Number(e.target.value) })}
                  aria-label="Replay speed"
                  data-testid="replay-speed"
                >
                  {REPLAY_SPEEDS.map((s) => (
                    <option key={s} value={s}>
                      ×{s}
                    </option>
                  ))}
                </select>
                <input
                  type="range"
                  min={start}
                  max={end}
                  step={1}
                  value={mine.at}
                  onChange={(e) => replayStore.update({ at: Number(e.target.value), playing: false })}
                  aria-label="Replay position"
                  data-testid="replay-scrub"
                />
              </div>
              <div className="muted" data-testid="replay-at" data-at={mine.at}>
                {formatDateTime(mine.at)}
                {here ? ` · ${formatSpeed(here.speedKph)} · ignition ${here.ignition ? 'on' : 'off'}` : ''}
              </div>
            </>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
