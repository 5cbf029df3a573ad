/** The staff component's shared entity types: a staff account (never with its password hash) and its role. */

export type StaffAccountRole = 'dispatcher' | 'support' | 'admin';

export interface StaffAccount {
  id: string;
  email: string;
  name: string;
  role: StaffAccountRole;
  active: boolean;
  createdAt: string;
}
