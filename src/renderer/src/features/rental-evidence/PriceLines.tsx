/** A rental's price breakdown as stored with it: one row per line (quantity × unit price), the discount marked, the total. */
import type { RentalPrice } from '../../../../shared/sync-protocol.js';
import { formatMoney } from '../../lib/format';

export function PriceLines({ price }: { price: RentalPrice }) {
  return (
    <table className="receipt" data-testid="receipt">
      <tbody>
        {price.lines.map((l, i) => (
          <tr key={i} className={l.amountCents < 0 ? 'receipt-discount' : ''}>
            <td>{l.description || l.code}</td>
            <td className="num muted">
              {l.quantity} {l.unit} × {formatMoney(l.unitCents, price.currency)}
            </td>
            <td className="num">{formatMoney(l.amountCents, price.currency)}</td>
          </tr>
        ))}
        <tr className="receipt-total">
          <td>Total</td>
          <td />
          <td className="num">{formatMoney(price.totalCents, price.currency)}</td>
        </tr>
      </tbody>
    </table>
  );
}
