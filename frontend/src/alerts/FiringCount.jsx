// The header's firing count: polls /api/alerts and links to the Alerts page.
import { useEffect, useState } from 'react';
import { urls } from '../api/client.js';
import { useFetch } from '../data/useFetch.js';

export function FiringCount({ onOpen }) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setTick((t) => t + 1), 15_000);
    return () => clearInterval(id);
  }, []);
  const { data } = useFetch(urls.alerts(), tick);
  const firing = data?.firing || 0;
  return (
    <button type="button" className={`btn btn-small firing-count${firing ? ' is-firing' : ''}`} onClick={onOpen}
      title="Alerts" aria-label={`${firing} firing alert${firing === 1 ? '' : 's'}`}>
      {firing} firing
    </button>
  );
}
