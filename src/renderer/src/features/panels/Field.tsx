/**
 * A form control with its validation message right under it (never far below the form): the control gets
 * `aria-invalid` and is described by the message, which screen readers announce. Used by every form of the desk.
 */
import { cloneElement, useId, useState, type InputHTMLAttributes, type ReactElement } from 'react';
import type { FieldProblems } from '../../lib/validation';

export function Field({
  error,
  children,
  className,
}: {
  error: string | undefined;
  /** one input/select/textarea */
  children: ReactElement<{ 'aria-invalid'?: boolean; 'aria-describedby'?: string }>;
  className?: string;
}) {
  const id = useId();
  return (
    <span className={`field${error ? ' field-invalid' : ''}${className ? ` ${className}` : ''}`}>
      {cloneElement(children, { 'aria-invalid': error ? true : undefined, 'aria-describedby': error ? id : undefined })}
      {error ? (
        <span className="field-error" id={id} role="alert" data-testid="field-error">
          {error}
        </span>
      ) : null}
    </span>
  );
}

/** A text input inside its Field: `useFieldProblems().input(name, value, set)` gives its value, message and setter. */
export function FieldInput({
  error,
  onValue,
  fieldClassName,
  ...input
}: Omit<InputHTMLAttributes<HTMLInputElement>, 'onChange' | 'value'> & {
  value: string;
  error: string | undefined;
  onValue: (value: string) => void;
  fieldClassName?: string;
  'data-testid'?: string;
}) {
  return (
    <Field error={error} {...(fieldClassName ? { className: fieldClassName } : {})}>
      <input {...input} onChange={(e) => onValue(e.target.value)} />
    </Field>
  );
}

/**
 * A panel's field problems: `check` sets those of the fields it is given (true when they have none), `clear(field)`
 * drops one as the operator edits it, so a fixed field does not keep its old message.
 */
export function useFieldProblems<F extends string>() {
  const [problems, setProblems] = useState<FieldProblems<F>>({});
  return {
    problems,
    check(checks: Partial<Record<F, string | undefined>>): boolean {
      // only the fields checked now change: another form's message on the same panel stays
      const found: FieldProblems<F> = {};
      for (const [field, message] of Object.entries(checks) as [F, string | undefined][]) if (message) found[field] = message;
      setProblems((p) => {
        const next = { ...p };
        for (const field of Object.keys(checks) as F[]) delete next[field];
        return { ...next, ...found };
      });
      return Object.keys(found).length === 0;
    },
    clear(field: F) {
      setProblems((p) => {
        if (!(field in p)) return p;
        const rest = { ...p };
        delete rest[field];
        return rest;
      });
    },
    reset() {
      setProblems({});
    },
    /** what a FieldInput for `field` needs: its value, its message, and a setter that drops the message as it is edited */
    input(field: F, value: string, set: (value: string) => void) {
      return {
        value,
        error: problems[field],
        onValue: (v: string) => {
          set(v);
          setProblems((p) => {
            if (!(field in p)) return p;
            const rest = { ...p };
            delete rest[field];
            return rest;
          });
        },
      };
    },
  };
}
