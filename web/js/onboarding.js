// @ts-check
// The clinic's onboarding sequence as data: which of its five steps are done, from what
// the clinic already has. Pure (no DOM), used by views/onboarding.js and its tests.

/**
 * @typedef {object} OnboardingFacts
 * @property {boolean} clinic the clinic's data is registered
 * @property {number} services active services (types of consultation)
 * @property {Array<{role: string, user_id: string}>} members the team
 * @property {Record<string, number>} hours intervals of working hours, by professional
 * @property {Array<{price_cents: number}>} prices the price table's lines
 */

/**
 * The five steps in order, each done or not, and the first not done (`current`).
 * @param {OnboardingFacts} f
 */
export function onboardingSteps(f) {
  const pros = f.members.filter((m) => m.role === 'professional');
  const steps = [
    { key: 'clinic', title: 'Dados da clínica', done: f.clinic },
    { key: 'hours', title: 'Horários e serviços', done: f.services > 0 },
    {
      key: 'professionals',
      title: 'Profissionais e suas agendas',
      done: pros.length > 0 && pros.every((p) => (f.hours[p.user_id] || 0) > 0),
    },
    { key: 'staff', title: 'Equipe da recepção', done: f.members.some((m) => m.role === 'receptionist') },
    { key: 'prices', title: 'Preços', done: f.prices.length > 0 && f.prices.every((p) => p.price_cents > 0) },
  ];
  const current = steps.find((s) => !s.done);
  return { steps, current: current ? current.key : null, doneCount: steps.filter((s) => s.done).length };
}
