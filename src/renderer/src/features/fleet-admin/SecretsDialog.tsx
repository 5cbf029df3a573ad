/**
 * The device passwords, shown once: a modal with the list, the installer's file to download (the same CSV the
 * server writes, src/shared/vehicle-registry.ts) and a plain warning that they will not be shown again. Closing asks
 * for a confirmation until the file was downloaded.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { installerCsv, type IssuedDeviceCredential } from '../../../../shared/vehicle-registry.js';
import { plural } from '../../lib/format';

const SHOWN = 100;

export function SecretsDialog({ devices, onClose }: { devices: IssuedDeviceCredential[]; onClose: () => void }) {
  const titleId = useId();
  const [downloaded, setDownloaded] = useState(false);
  const [closing, setClosing] = useState(false);
  const downloadRef = useRef<HTMLButtonElement>(null);
  useEffect(() => downloadRef.current?.focus(), []);
  const download = () => {
    const csv = installerCsv(devices.map(({ rotated: _r, ...d }) => d));
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `device-credentials-${new Date().toISOString().slice(0, 10)}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setDownloaded(true);
  };
  return (
    <div className="confirm-backdrop">
      <div className="confirm-dialog secrets-dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} data-testid="secrets-dialog">
        <h2 id={titleId} className="confirm-title">
          Credentials for {plural(devices.length, 'device')}
        </h2>
        <div className="secrets-warning" role="alert">
          These passwords are shown only now. The server keeps no copy it could show again: download the file for the installer before you
          close this window. If it is lost, provision the devices again (the old passwords then stop working).
        </div>
        <div className="fleet-admin-scroll secrets-list">
          <table className="replica-table">
            <thead>
              <tr>
                <th>Plate</th>
                <th>MQTT username</th>
                <th>Password</th>
              </tr>
            </thead>
            <tbody>
              {devices.slice(0, SHOWN).map((d) => (
                <tr key={d.vehicleId} data-testid="secret-row">
                  <td className="plate">{d.plate}</td>
                  <td className="mono">{d.username}</td>
                  <td className="mono secret">{d.password}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {devices.length > SHOWN ? <div className="muted">…and {plural(devices.length - SHOWN, 'more device')} in the file.</div> : null}
        </div>
        <div className="muted">Broker: {devices[0]?.brokerUrl}</div>
        {closing && !downloaded ? (
          <div className="fleet-admin-error" role="alert">
            You have not downloaded the file. Close anyway? The passwords cannot be shown again.
          </div>
        ) : null}
        <div className="confirm-actions">
          <button
            type="button"
            className={closing && !downloaded ? 'danger-button' : ''}
            data-testid="secrets-close"
            onClick={() => (downloaded || closing ? onClose() : setClosing(true))}
          >
            {closing && !downloaded ? 'Close without the file' : 'Close'}
          </button>
          <button type="button" ref={downloadRef} className="primary-button small" onClick={download} data-testid="secrets-download">
            Download for the installer
          </button>
        </div>
      </div>
    </div>
  );
}
