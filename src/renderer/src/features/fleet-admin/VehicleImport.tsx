/**
 * Import vehicles from a CSV file: choosing the file runs the server's dry run at once — every bad row with its line
 * number and what is wrong, or "N vehicles ready to import" — and only a clean file can be imported (all or nothing).
 */
import { useState } from 'react';
import { IMPORT_COLUMNS, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, type RowError } from '../../../../shared/vehicle-registry.js';
import { useReplica } from '../../data/hooks';
import { StaffApiError } from '../../data/open';
import { formatCount, plural } from '../../lib/format';
import { messageOf } from './use-staff-data';

type Check =
  | { state: 'idle' }
  | { state: 'checking' | 'importing'; name: string }
  | { state: 'bad'; name: string; errors: RowError[]; detail: string }
  | { state: 'ready'; name: string; text: string; count: number }
  | { state: 'failed'; name: string; message: string };

const FIELD_LABEL: Record<string, string> = {
  plate: 'Plate',
  vin: 'VIN',
  make: 'Make',
  model: 'Model',
  energyType: 'Energy type',
  homeZone: 'Home zone',
  file: 'File',
  row: 'Row',
};

export function VehicleImport({ onImported, onClose }: { onImported: (message: string) => void; onClose: () => void }) {
  const r = useReplica();
  const [check, setCheck] = useState<Check>({ state: 'idle' });
  const post = (text: string, dryRun: boolean) =>
    r!.staffRequest<{ count: number }>('POST', `/ops/v1/vehicles/import${dryRun ? '?dryRun=true' : ''}`, { text, contentType: 'text/csv' });

  const choose = async (file: File | undefined) => {
    if (!file || !r) return;
    if (file.size > MAX_IMPORT_BYTES) {
      setCheck({
        state: 'failed',
        name: file.name,
        message: `The file is larger than ${formatCount(MAX_IMPORT_BYTES / 1024 / 1024)} MB; split it.`,
      });
      return;
    }
    setCheck({ state: 'checking', name: file.name });
    const text = await file.text();
    try {
      const { count } = await post(text, true);
      setCheck({ state: 'ready', name: file.name, text, count });
    } catch (err) {
      const errors = err instanceof StaffApiError ? (err.problem?.errors as RowError[] | undefined) : undefined;
      if (errors?.length) setCheck({ state: 'bad', name: file.name, errors, detail: messageOf(err) });
      else setCheck({ state: 'failed', name: file.name, message: messageOf(err) });
    }
  };

  const badLines = check.state === 'bad' ? new Set(check.errors.map((e) => e.line)).size : 0;
  return (
    <section className="fleet-admin-box" data-testid="vehicle-import">
      <h3 className="section-title">Import vehicles from a CSV file</h3>
      <p className="muted fleet-admin-note">
        First line: <code>{IMPORT_COLUMNS.join(',')}</code> (home zone may be left out). Up to {formatCount(MAX_IMPORT_ROWS)} vehicles per
        file. The file is checked first; nothing is registered unless every line is right.
      </p>
      <div className="fleet-admin-actions fleet-admin-actions-left">
        <label className="file-button">
          Choose a file…
          <input
            type="file"
            accept=".csv,text/csv"
            data-testid="import-file"
            onChange={(e) => {
              void choose(e.target.files?.[0]);
              e.target.value = '';
            }}
          />
        </label>
        {check.state !== 'idle' ? <span className="muted">{check.name}</span> : null}
        <span className="spacer" />
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {check.state === 'checking' ? <div className="muted">Checking the file…</div> : null}
      {check.state === 'importing' ? <div className="muted">Importing…</div> : null}
      {check.state === 'failed' ? (
        <div className="fleet-admin-error" role="alert" data-testid="import-failed">
          {check.message}
        </div>
      ) : null}
      {check.state === 'bad' ? (
        <div data-testid="import-errors">
          <div className="fleet-admin-error" role="alert">
            Nothing was imported: {plural(check.errors.length, 'problem')} on {plural(badLines, 'line')}. Fix the file and choose it again.
          </div>
          <div className="fleet-admin-scroll">
            <table className="replica-table">
              <thead>
                <tr>
                  <th>Line</th>
                  <th>Field</th>
                  <th>Problem</th>
                </tr>
              </thead>
              <tbody>
                {check.errors.slice(0, 200).map((e, i) => (
                  <tr key={i} data-testid="import-error" data-line={e.line}>
                    <td className="num">{e.line}</td>
                    <td>{FIELD_LABEL[e.field] ?? e.field}</td>
                    <td>{e.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {check.errors.length > 200 ? <div className="muted">…and {formatCount(check.errors.length - 200)} more.</div> : null}
          </div>
        </div>
      ) : null}
      {check.state === 'ready' ? (
        <div className="fleet-admin-ready" data-testid="import-ready">
          <span>{plural(check.count, 'vehicle')} ready to import.</span>
          <button
            type="button"
            className="primary-button small"
            data-testid="import-submit"
            onClick={() => {
              const { text, name } = check;
              setCheck({ state: 'importing', name });
              post(text, false).then(
                ({ count }) => {
                  setCheck({ state: 'idle' });
                  onImported(`Imported ${plural(count, 'vehicle')} from ${name}.`);
                },
                (err: unknown) => {
                  const errors = err instanceof StaffApiError ? (err.problem?.errors as RowError[] | undefined) : undefined;
                  if (errors?.length) setCheck({ state: 'bad', name, errors, detail: messageOf(err) });
                  else setCheck({ state: 'failed', name, message: messageOf(err) });
                },
              );
            }}
          >
            Import {plural(check.count, 'vehicle')}
          </button>
        </div>
      ) : null}
    </section>
  );
}
