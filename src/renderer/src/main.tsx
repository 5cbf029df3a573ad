import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { applyBusinessStateColors } from './data/business-state';
import './app/app.css';
import './features/sync/sync.css';
import './features/panels/panels.css';
import './features/alerts/alerts.css';
import './features/conflicts/conflicts.css';
import './features/vehicle-ops/vehicle-ops.css';
import './features/auth/auth.css';
import './features/customers/customers.css';

applyBusinessStateColors(document.documentElement);
const root = document.getElementById('root');
if (!root) throw new Error('index.html must contain #root');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
