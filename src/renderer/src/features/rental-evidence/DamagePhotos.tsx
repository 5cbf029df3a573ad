/**
 * A damage report's photos: thumbnails, and one photo in full over the evidence view on a click. The photos come
 * from the authenticated staff route (never a public URL) as blobs shown through object URLs, which are revoked
 * when the report leaves the screen.
 */
import { useEffect, useState } from 'react';
import { useReplica } from '../../data/hooks';
import type { DamageReport } from './evidence-types';

type Loaded = { url: string } | { error: string };

export function DamagePhotos({ rentalId, report }: { rentalId: string; report: DamageReport }) {
  const r = useReplica();
  const [photos, setPhotos] = useState<Record<number, Loaded>>({});
  const [full, setFull] = useState<number | undefined>(undefined);
  useEffect(() => {
    if (!r) return;
    const abort = new AbortController();
    const urls: string[] = [];
    for (const p of report.photos) {
      const path = `/ops/v1/rentals/${encodeURIComponent(rentalId)}/damage-reports/${encodeURIComponent(report.reportId)}/photos/${p.index}`;
      r.staffRequest<Blob>('GET', path, { as: 'blob', signal: abort.signal }).then(
        (blob) => {
          const url = URL.createObjectURL(blob);
          if (abort.signal.aborted) return URL.revokeObjectURL(url);
          urls.push(url);
          setPhotos((prev) => ({ ...prev, [p.index]: { url } }));
        },
        (err: unknown) => {
          if (!abort.signal.aborted)
            setPhotos((prev) => ({ ...prev, [p.index]: { error: err instanceof Error ? err.message : String(err) } }));
        },
      );
    }
    return () => {
      abort.abort();
      for (const url of urls) URL.revokeObjectURL(url);
    };
  }, [r, rentalId, report]);

  useEffect(() => {
    if (full === undefined) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        setFull(undefined);
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [full]);

  if (report.photos.length === 0) return <div className="muted">No photos.</div>;
  const shown = full === undefined ? undefined : photos[full];
  return (
    <>
      <div className="damage-thumbs" data-testid="damage-photos">
        {report.photos.map((p) => {
          const loaded = photos[p.index];
          return (
            <button
              key={p.index}
              type="button"
              className="damage-thumb"
              data-testid="damage-thumb"
              data-loaded={loaded && 'url' in loaded ? 'true' : 'false'}
              disabled={!loaded || !('url' in loaded)}
              title={loaded && 'error' in loaded ? `This photo could not be read: ${loaded.error}` : `Photo ${p.index}: show it in full`}
              onClick={() => setFull(p.index)}
            >
              {loaded && 'url' in loaded ? (
                <img src={loaded.url} alt={`Damage photo ${p.index}`} />
              ) : (
                <span className="muted">{loaded ? 'not available' : 'loading…'}</span>
              )}
            </button>
          );
        })}
      </div>
      {shown && 'url' in shown ? (
        <div
          className="damage-full"
          data-testid="damage-full"
          role="dialog"
          aria-label={`Damage photo ${full}`}
          onClick={() => setFull(undefined)}
        >
          <img src={shown.url} alt={`Damage photo ${full} in full`} />
          <div className="damage-full-caption">
            {report.text} · photo {full} of {report.photos.length} — click or press Esc to close
          </div>
        </div>
      ) : null}
    </>
  );
}
