/**
 * A row's destructive action that needs a reason (retire a vehicle, revoke a device): the reason field, checked at
 * the field, then the action's own confirmation (`onReason` asks it).
 */
import { useState } from 'react';
import { reasonProblem } from '../../lib/validation';
import { FieldInput, useFieldProblems } from '../panels/Field';

export function ReasonRowForm({
  verb,
  label,
  testId,
  onReason,
  onCancel,
}: {
  /** the button: "Retire", "Revoke" */
  verb: string;
  /** the field's accessible name, naming the object: "Reason to retire B-FD 1234" */
  label: string;
  /** `<testId>-reason`, `<testId>-submit` */
  testId: string;
  onReason: (reason: string) => void;
  onCancel: () => void;
}) {
  const [reason, setReason] = useState('');
  const fields = useFieldProblems<'reason'>();
  return (
    <form
      className="row-actions"
      onSubmit={(e) => {
        e.preventDefault();
        if (fields.check({ reason: reasonProblem(reason) })) onReason(reason.trim());
      }}
    >
      <FieldInput
        {...fields.input('reason', reason, setReason)}
        placeholder="Reason (required)"
        aria-label={label}
        data-testid={`${testId}-reason`}
      />
      <button type="submit" className="danger-button" data-testid={`${testId}-submit`}>
        {verb}
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
