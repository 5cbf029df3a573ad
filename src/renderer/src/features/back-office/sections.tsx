/**
 * The back office: the desk's screens that are not about the live fleet — money, the audit trail, and (admins) the
 * fleet registry, devices, tariffs, zones and staff accounts. Each screen is one entry here; the desk shows the
 * entries the operator's role may use (the capability from src/shared/permissions.ts, the table the server
 * enforces), in this order. A screen lives in its own feature folder and is only referenced here.
 */
import type { ReactNode } from 'react';
import type { Capability } from '../../../../shared/permissions.js';
import { DevicesAdmin } from '../fleet-admin/DevicesAdmin';
import { VehiclesAdmin } from '../fleet-admin/VehiclesAdmin';

/** What a back-office screen gets from the desk. */
export interface BackOfficeContext {
  /** the desk's clock (ms), ticking once a second */
  now: number;
  plateOf: (vehicleId: string) => string;
  /** back to the operations view with this car selected on the map */
  selectVehicle: (vehicleId: string) => void;
}

export interface BackOfficeSection {
  id: string;
  label: string;
  /** one line under the label in the section list */
  hint: string;
  /** the role may see the section (what it may do inside is checked per action) */
  capability: Capability;
  render: (ctx: BackOfficeContext) => ReactNode;
}

export const BACK_OFFICE_SECTIONS: readonly BackOfficeSection[] = [
  {
    id: 'vehicles',
    label: 'Vehicles',
    hint: 'Register, import, change and retire cars',
    capability: 'vehicle.manage',
    render: () => <VehiclesAdmin />,
  },
  {
    id: 'devices',
    label: 'Devices',
    hint: 'Provision and revoke telematics credentials',
    capability: 'device.credentials',
    render: () => <DevicesAdmin />,
  },
];
