import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.jsx';
import { AuthGate } from './auth/AuthGate.jsx';
import { ErrorBoundary } from './components/ErrorBoundary.jsx';
import { startEarlyRequests } from './data/earlyRequests.js';
import './styles.css';

const startedAt = Date.now();
startEarlyRequests({ now: startedAt });

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <ErrorBoundary title="The dashboard crashed">
      <AuthGate>
        <App startedAt={startedAt} />
      </AuthGate>
    </ErrorBoundary>
  </StrictMode>,
);
