/**
 * Every command of the selected car, newest first, from the replica (live as its transitions replicate, and
 * offline): the outcome in plain words, who issued it and why, each step with its time and reason, and Cancel for
 * a queued or sent one (roles that may command vehicles).
 */
import { useState } from 'react';
import type { CommandDoc } from '../../../../shared/sync-protocol.js';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { formatAgo } from '../../lib/format';
import { CancelCommand } from './CancelCommand';
import { CommandSteps } from './CommandSteps';
import { commandOutcome, issuerWords, TROUBLE, whyWords } from './command-words';
import { useCommandNames } from './use-command-names';
import './commands.css';

const FIRST = 5;
const ALL = 500;

export function VehicleCommands({ vehicleId, now }: { vehicleId: string; now: number }) {
  const r = useReplica();
  const names = useCommandNames();
  const [all, setAll] = useState(false);
  const limit = all ? ALL : FIRST + 1;
  const commands = useLiveQuery<CommandDoc>(
    r?.db.commands,
    { selector: { vehicleId }, sort: [{ createdAt: 'desc' }], limit },
    `${vehicleId}|${limit}`,
  );
  if (!commands.length) return null;
  const shown = all ? commands : commands.slice(0, FIRST);
  return (
    <div className="vehicle-commands" data-testid="vehicle-commands">
      <div className="ops-row">
        <span className="ops-label">History</span>
        <span className="muted">{all ? `${commands.length} command(s)` : 'latest commands'}</span>
        {commands.length > FIRST || all ? (
          <button type="button" className="text-button" onClick={() => setAll((a) => !a)}>
            {all ? 'fewer' : 'all'}
          </button>
        ) : null}
      </div>
      <ul className="command-list">
        {shown.map((c) => (
          <li key={c.id} data-command-id={c.id} data-status={c.status} className={TROUBLE.has(c.status) ? 'command-trouble' : ''}>
            <div className="command-head">
              <strong data-testid="command-outcome">{commandOutcome(c)}</strong>
              <span className="muted">{formatAgo(c.createdAt, now)}</span>
            </div>
            <div className="muted">
              by <span data-testid="command-issuer">{issuerWords(c, names)}</span> · {whyWords(c.reason, names)}
            </div>
            <CommandSteps command={c} />
            <CancelCommand commandId={c.id} status={c.status} />
          </li>
        ))}
      </ul>
    </div>
  );
}
