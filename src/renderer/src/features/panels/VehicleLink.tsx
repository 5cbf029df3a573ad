/** What the operations panels share in their rows: the props every panel gets, and a vehicle link. */

/** The props App gives every operations panel that shows vehicles. */
export interface VehiclePanelProps {
  /** the vehicle's plate (live registry, else the replica, else the id) */
  plateOf: (vehicleId: string) => string;
  now: number;
  /** selects the vehicle on the map and in the grid */
  onSelectVehicle: (vehicleId: string) => void;
}

/** A vehicle in a panel row: its plate, selecting the vehicle when clicked. */
interface VehicleLinkProps {
  vehicleId: string;
  plateOf: VehiclePanelProps['plateOf'];
  onSelect: (vehicleId: string) => void;
}

export function VehicleLink({ vehicleId, plateOf, onSelect }: VehicleLinkProps) {
  return (
    <button type="button" className="link-button" onClick={() => onSelect(vehicleId)}>
      {plateOf(vehicleId)}
    </button>
  );
}
