/**
 * Support agents' Customers tab (support and admin only; dispatchers never get the collection): search by name,
 * e-mail, phone or licence number in the replica (offline too), and the customer's detail.
 */
import { useEffect, useMemo, useState } from 'react';
import { replicaCustomers } from '../../data/customer-index';
import type { VehiclePanelProps } from '../panels/VehicleLink';
import { plural } from '../../lib/format';
import { CustomerDetail } from './CustomerDetail';

export function CustomersPanel({ now, plateOf, onSelectVehicle }: VehiclePanelProps) {
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [version, setVersion] = useState(0);
  useEffect(() => replicaCustomers.subscribe(() => setVersion((v) => v + 1)), []);
  const results = useMemo(() => replicaCustomers.search(query, 50), [query, version]);
  const total = replicaCustomers.size();
  return (
    <div className="customers-panel" data-testid="customers-panel" data-count={total}>
      <div className="customers-list">
        <input
          className="customers-search"
          type="search"
          placeholder="Name, e-mail, phone or licence"
          aria-label="Search customers"
          data-testid="customer-search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && results[0]) setSelected(results[0].id);
          }}
        />
        <div className="muted customers-meta">
          {query.trim()
            ? `${results.length === 50 ? '50+' : results.length} of ${plural(total, 'customer')}`
            : `${plural(total, 'customer')} in the local replica — type to search`}
        </div>
        <ul className="customers-results" data-testid="customer-results" data-count={results.length}>
          {results.map((c) => (
            <li key={c.id}>
              <button
                type="button"
                className={`customer-row${selected === c.id ? ' customer-row-selected' : ''}`}
                data-customer-id={c.id}
                onClick={() => setSelected(c.id)}
              >
                <span className="customer-row-name">
                  {c.name}
                  {c.status === 'blocked' ? <span className="pill pill-blocked">blocked</span> : null}
                </span>
                <span className="muted customer-row-sub">
                  {c.email} · {c.phone}
                  {c.licenceNumber ? ` · ${c.licenceNumber}` : ''}
                </span>
              </button>
            </li>
          ))}
        </ul>
      </div>
      <div className="customers-detail">
        {selected ? (
          <CustomerDetail customerId={selected} now={now} plateOf={plateOf} onSelectVehicle={onSelectVehicle} />
        ) : (
          <div className="panel-empty">Pick a customer to see their rentals, receipts and notes.</div>
        )}
      </div>
    </div>
  );
}
