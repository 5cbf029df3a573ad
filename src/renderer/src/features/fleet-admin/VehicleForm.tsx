/**
 * Register a vehicle, or change one: plate, VIN, make, model, energy type, home zone — each checked at its field
 * with the rules the server applies (src/shared/vehicle-registry.ts); a refusal's per-field errors land at their
 * fields too.
 */
import { useState } from 'react';
import type { EnergyType } from '../../../../shared/fleet.js';
import {
  energyTypeProblem,
  homeZoneProblem,
  nameProblem,
  normalizePlate,
  normalizeVin,
  plateProblem,
  vinProblem,
  type RegisteredVehicle,
  type RowError,
} from '../../../../shared/vehicle-registry.js';
import { StaffApiError } from '../../data/open';
import { Field, FieldInput, useFieldProblems } from '../panels/Field';
import { messageOf } from './use-staff-data';

type F = 'plate' | 'vin' | 'make' | 'model' | 'energyType' | 'homeZone';
const FIELDS: readonly F[] = ['plate', 'vin', 'make', 'model', 'energyType', 'homeZone'];

export interface VehicleFormProps {
  /** absent: a new vehicle */
  vehicle?: RegisteredVehicle;
  /** sends the fields (only the changed ones for an edit); rejects with the server's refusal */
  submit: (fields: Partial<Record<F, string>>) => Promise<unknown>;
  onDone: (message: string) => void;
  onCancel: () => void;
}

export function VehicleForm({ vehicle, submit, onDone, onCancel }: VehicleFormProps) {
  const [values, setValues] = useState<Record<F, string>>({
    plate: vehicle?.plate ?? '',
    vin: vehicle?.vin ?? '',
    make: vehicle?.make ?? '',
    model: vehicle?.model ?? '',
    energyType: vehicle?.energyType ?? 'electric',
    homeZone: vehicle?.homeZone ?? '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const fields = useFieldProblems<F>();
  const set = (f: F) => (v: string) => setValues((s) => ({ ...s, [f]: v }));
  const problem = (f: F): string | undefined => {
    const v = values[f];
    switch (f) {
      case 'plate':
        return plateProblem(normalizePlate(v)) ?? undefined;
      case 'vin':
        // a car registered before VINs were recorded may stay without one
        return vehicle && vehicle.vin === null && v.trim() === '' ? undefined : (vinProblem(normalizeVin(v)) ?? undefined);
      case 'make':
      case 'model':
        return nameProblem(f, v) ?? undefined;
      case 'energyType':
        return energyTypeProblem(v) ?? undefined;
      case 'homeZone':
        return v.trim() === '' ? undefined : (homeZoneProblem(v.trim().toLowerCase()) ?? undefined);
    }
  };
  const label = vehicle ? `Save ${vehicle.plate}` : 'Register vehicle';
  return (
    <form
      className="fleet-admin-form"
      data-testid="vehicle-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!fields.check(Object.fromEntries(FIELDS.map((f) => [f, problem(f)])) as Record<F, string | undefined>)) return;
        const body: Partial<Record<F, string>> = {};
        for (const f of FIELDS) {
          const v = values[f].trim();
          const before = vehicle ? ((vehicle[f] as string | null) ?? '') : undefined;
          if (vehicle ? v !== before : v !== '' || f !== 'homeZone') body[f] = v;
        }
        if (vehicle && Object.keys(body).length === 0) return onCancel();
        setBusy(true);
        submit(body).then(
          () => {
            setBusy(false);
            onDone(vehicle ? `Saved ${normalizePlate(values.plate)}.` : `Registered ${normalizePlate(values.plate)}.`);
          },
          (err: unknown) => {
            setBusy(false);
            const rows = err instanceof StaffApiError ? (err.problem?.errors as RowError[] | undefined) : undefined;
            if (rows?.length) {
              fields.check(Object.fromEntries(rows.map((r) => [r.field, capitalize(r.message)])) as Record<F, string>);
              setError(undefined);
            } else setError(messageOf(err));
          },
        );
      }}
    >
      <div className="fleet-admin-grid">
        <label>
          Plate
          <FieldInput {...fields.input('plate', values.plate, set('plate'))} placeholder="B-AB 1234" data-testid="vehicle-plate" />
        </label>
        <label>
          VIN
          <FieldInput {...fields.input('vin', values.vin, set('vin'))} placeholder="17 characters" data-testid="vehicle-vin" />
        </label>
        <label>
          Make
          <FieldInput {...fields.input('make', values.make, set('make'))} placeholder="Volkswagen" data-testid="vehicle-make" />
        </label>
        <label>
          Model
          <FieldInput {...fields.input('model', values.model, set('model'))} placeholder="ID.3" data-testid="vehicle-model" />
        </label>
        <label>
          Energy
          <Field error={fields.problems.energyType}>
            <select
              value={values.energyType}
              onChange={(e) => set('energyType')(e.target.value as EnergyType)}
              data-testid="vehicle-energy"
            >
              <option value="electric">Electric</option>
              <option value="fuel">Fuel</option>
            </select>
          </Field>
        </label>
        <label>
          Home zone
          <FieldInput
            {...fields.input('homeZone', values.homeZone, set('homeZone'))}
            placeholder="optional, e.g. mitte"
            data-testid="vehicle-zone"
          />
        </label>
      </div>
      {error ? (
        <div className="fleet-admin-error" role="alert">
          {error}
        </div>
      ) : null}
      <div className="fleet-admin-actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary-button small" disabled={busy} data-testid="vehicle-submit">
          {busy ? 'Saving…' : label}
        </button>
      </div>
    </form>
  );
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
