/**
 * Plate/id search: typing filters the grid; Enter jumps to the vehicle (or, for support/admin, opens a rental by its
 * id); "/" or Ctrl+K focuses; Esc clears.
 */
import { useEffect, useRef } from 'react';

interface SearchBoxProps {
  value: string;
  onChange(value: string): void;
  onSubmit(value: string): void;
  matches: number | undefined;
}

export function SearchBox({ value, onChange, onSubmit, matches }: SearchBoxProps) {
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
      if ((e.key === '/' && !typing) || (e.key.toLowerCase() === 'k' && (e.ctrlKey || e.metaKey))) {
        e.preventDefault();
        inputRef.current?.focus();
        inputRef.current?.select();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="search">
      <svg className="search-icon" viewBox="0 0 16 16" aria-hidden="true">
        <circle cx="7" cy="7" r="4.5" fill="none" stroke="currentColor" strokeWidth="1.6" />
        <path d="M10.5 10.5 14 14" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
      </svg>
      <input
        ref={inputRef}
        type="search"
        data-testid="vehicle-search"
        placeholder="Plate, vehicle or rental id"
        aria-label="Find a vehicle by plate or id, or a rental by id"
        spellCheck={false}
        autoComplete="off"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') onSubmit(value);
          else if (e.key === 'Escape') onChange('');
        }}
      />
      {value ? (
        <span className="search-matches">{matches === undefined ? '' : `${matches} match${matches === 1 ? '' : 'es'}`}</span>
      ) : (
        <kbd className="search-kbd">/</kbd>
      )}
    </div>
  );
}
