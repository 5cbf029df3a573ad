/**
 * The back-office view: the sections the operator's role may use in a list on the left, the chosen one on the right.
 * The choice survives switching back to operations and back (kept by the desk shell).
 */
import { can } from '../../../../shared/permissions.js';
import type { OperatorRole } from '../../../../shared/operator-role.js';
import { BACK_OFFICE_SECTIONS, type BackOfficeContext, type BackOfficeSection } from './sections';
import './back-office.css';

/** The sections `role` may use, in their order. */
export const backOfficeSectionsFor = (role: OperatorRole | string): BackOfficeSection[] =>
  BACK_OFFICE_SECTIONS.filter((s) => can(role, s.capability));

interface BackOfficeProps extends BackOfficeContext {
  role: OperatorRole | string;
  section: string | undefined;
  onSection: (id: string) => void;
}

export function BackOffice({ role, section, onSection, ...ctx }: BackOfficeProps) {
  const sections = backOfficeSectionsFor(role);
  const current = sections.find((s) => s.id === section) ?? sections[0];
  return (
    <div className="back-office" data-testid="back-office">
      <nav className="back-office-nav" aria-label="Back office">
        {sections.map((s) => (
          <button
            key={s.id}
            type="button"
            className={`back-office-link${s === current ? ' back-office-link-active' : ''}`}
            aria-current={s === current ? 'page' : undefined}
            data-testid={`back-office-${s.id}`}
            onClick={() => onSection(s.id)}
          >
            <span className="back-office-label">{s.label}</span>
            <span className="back-office-hint">{s.hint}</span>
          </button>
        ))}
      </nav>
      <section className="back-office-body" aria-label={current?.label ?? 'Back office'}>
        {current ? current.render(ctx) : <div className="panel-empty">Nothing here for your role.</div>}
      </section>
    </div>
  );
}
