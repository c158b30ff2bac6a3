// @ts-check
// A clinic's reminder lead times (minutes before the appointment) as the admin picks them.

/** The usual lead times, in minutes, longest first. */
export const OFFSET_CHOICES = [2880, 1440, 720, 240, 120, 60, 30];

/**
 * "48 horas antes", "2 horas antes", "30 minutos antes", "1 hora e 30 minutos antes".
 * @param {number} minutes
 */
export function offsetLabel(minutes) {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const parts = [];
  if (hours) parts.push(`${hours} ${hours === 1 ? 'hora' : 'horas'}`);
  if (rest) parts.push(`${rest} ${rest === 1 ? 'minuto' : 'minutos'}`);
  return `${parts.join(' e ')} antes`;
}

/**
 * The choices to show: the usual ones and whatever else the clinic saved, longest first.
 * @param {number[]} saved
 */
export function offsetChoices(saved) {
  return [...new Set([...OFFSET_CHOICES, ...saved])].sort((a, b) => b - a);
}
