/**
 * The fleet's recent commands (operations pane, from the replica, live): failed and expired first, then newest;
 * filter by status, type, vehicle (plate or id) and issuer; a row selects its car; Cancel for queued or sent ones
 * (roles that may command vehicles).
 */
import { useMemo, useState } from 'react';
import type { MangoQuery } from 'rxdb';
import type { CommandDoc } from '../../../../shared/sync-protocol.js';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { COMMAND_TYPES } from '../../data/actions';
import { formatAgo, normalizePlate } from '../../lib/format';
import type { VehiclePanelProps } from '../panels/VehicleLink';
import { CancelCommand } from './CancelCommand';
import { CommandSteps } from './CommandSteps';
import { COMMAND_STATUSES, commandOutcome, issuerWords, TROUBLE, troubleFirst, typeWords, whyWords } from './command-words';
import { useCommandNames } from './use-command-names';
import './commands.css';

/** the most recent commands the view looks at (per status/type filter) */
const RECENT = 500;

export function CommandsPanel({ plateOf, now, onSelectVehicle }: VehiclePanelProps) {
  const r = useReplica();
  const [status, setStatus] = useState('');
  const [type, setType] = useState('');
  const [vehicle, setVehicle] = useState('');
  const [issuer, setIssuer] = useState('');
  const selector: Record<string, string> = {};
  if (status) selector.status = status;
  if (type) selector.type = type;
  const query: MangoQuery<CommandDoc> = { selector, sort: [{ createdAt: 'desc' }], limit: RECENT };
  const recent = useLiveQuery<CommandDoc>(r?.db.commands, query, `${status}|${type}`);
  const names = useCommandNames();
  const issuers = useMemo(() => [...new Set(recent.map((c) => issuerWords(c, names)))].sort(), [recent, names]);
  const needle = normalizePlate(vehicle.trim());
  const rows = troubleFirst(
    recent.filter(
      (c) =>
        (!needle || normalizePlate(plateOf(c.vehicleId)).includes(needle) || c.vehicleId.toUpperCase().includes(needle)) &&
        (!issuer || issuerWords(c, names) === issuer),
    ),
  );
  return (
    <div className="replica-panel" data-testid="commands-panel" data-count={rows.length}>
      <div className="panel-toolbar">
        <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Status" data-testid="commands-status">
          <option value="">any status</option>
          {COMMAND_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select value={type} onChange={(e) => setType(e.target.value)} aria-label="Type" data-testid="commands-type">
          <option value="">any type</option>
          {COMMAND_TYPES.map((t) => (
            <option key={t} value={t}>
              {typeWords(t)}
            </option>
          ))}
        </select>
        <input
          placeholder="Plate"
          value={vehicle}
          onChange={(e) => setVehicle(e.target.value)}
          aria-label="Vehicle"
          data-testid="commands-vehicle"
        />
        <select value={issuer} onChange={(e) => setIssuer(e.target.value)} aria-label="Issued by" data-testid="commands-issuer">
          <option value="">anyone</option>
          {issuers.map((i) => (
            <option key={i} value={i}>
              {i}
            </option>
          ))}
        </select>
        <span className="muted toolbar-note">failed and expired first</span>
      </div>
      {rows.length === 0 ? <div className="panel-empty">No commands{status || type || vehicle || issuer ? ' match' : ' yet'}.</div> : null}
      <table className="replica-table commands-table">
        <thead>
          <tr>
            <th>Outcome · why</th>
            <th>Vehicle</th>
            <th>Issued by</th>
            <th>Steps</th>
            <th>Issued</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr
              key={c.id}
              data-command-id={c.id}
              data-status={c.status}
              className={TROUBLE.has(c.status) ? 'command-trouble' : ''}
              onClick={() => onSelectVehicle(c.vehicleId)}
              title="Select this car"
            >
              <td className="cell-wrap">
                <div>{commandOutcome(c)}</div>
                <div className="muted">{whyWords(c.reason, names)}</div>
              </td>
              <td>{plateOf(c.vehicleId)}</td>
              <td className="cell-wrap">{issuerWords(c, names)}</td>
              <td className="cell-wrap">
                <CommandSteps command={c} compact />
              </td>
              <td>{formatAgo(c.createdAt, now)}</td>
              <td className="cell-wrap">
                <div className="row-actions">
                  <CancelCommand commandId={c.id} status={c.status} />
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
