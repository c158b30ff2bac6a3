// @ts-check
// Shapes shared by the views: the view context app.js hands every view, and the API's JSON
// objects that several modules read. Types only (JSDoc for tsc, see tests/web/tsconfig.json):
// no module imports this file at run time, and it exports nothing.
//
//   /** @typedef {import('../types.js').Me} Me */

/**
 * What app.js hands each view it renders.
 * @typedef {object} ViewContext
 * @property {() => boolean} isCurrent false once the user went to another view: drop late answers
 * @property {(hash: string, opts?: {replace?: boolean}) => void} navigate
 * @property {(membership: Membership) => void} rememberClinic
 * @property {(fn: () => void) => void} onCleanup run `fn` when the view is replaced
 */

/**
 * One of a user's roles in a clinic (`GET /api/me`, `memberships`).
 * @typedef {object} Membership
 * @property {string} clinic_id
 * @property {string} clinic_name
 * @property {'clinic_admin'|'professional'|'receptionist'} role
 */

/**
 * A professional's council registration (`me.professional`, a member's `professional`).
 * @typedef {object} Professional
 * @property {string} [profession] e.g. `doctor`
 * @property {string} [council] e.g. `CRM`
 * @property {string} [council_number]
 * @property {string} [council_uf]
 * @property {string|null} [specialty]
 * @property {string|null} [rqe]
 */

/**
 * A person's names as the API gives them (patients, users).
 * @typedef {object} Named
 * @property {string} [full_name]
 * @property {string|null} [social_name]
 */

/**
 * A postal address (a clinic's; a patient's, needed on a special-control prescription).
 * @typedef {object} Address
 * @property {string} street
 * @property {string} number
 * @property {string|null} [complement]
 * @property {string} district
 * @property {string} city
 * @property {string} uf two letters
 * @property {string} postal_code CEP, `00000-000`
 */

/**
 * A patient's identity (`GET /api/clinics/{id}/patients`, `me.patient`; PatientIdentityView
 * in src/http/patients.rs). A clinic's view adds `allergies` and `notes`.
 * @typedef {object} PatientRecord
 * @property {string} id
 * @property {string} full_name
 * @property {string|null} social_name shown instead of the civil name wherever present
 * @property {string} cpf formatted, e.g. `529.982.247-25`
 * @property {string} birth_date YYYY-MM-DD
 * @property {string|null} phone
 * @property {string|null} email
 * @property {Address|null} [address] needed on a special-control prescription
 * @property {boolean} has_account
 * @property {string} created_at
 * @property {string|null} [allergies]
 * @property {string|null} [notes] clinical notes; null for roles that do not see them
 */

/**
 * The logged-in user (`GET /api/me`, the login's `user`).
 * @typedef {object} Me
 * @property {string} id
 * @property {string} email
 * @property {string} full_name
 * @property {boolean} platform_admin
 * @property {Membership[]} memberships
 * @property {PatientRecord|null} patient set for a patient account: their own profile
 * @property {import('./views/patient-links.js').LinkedRecord[]} [linked_records] clinic records
 *   the account proved control of; their `patient_id` is what that clinic calls the patient
 * @property {Professional|null} professional set for a professional
 * @property {boolean} [consent_active] for patients: a consent to the current terms is in force
 * @property {boolean} [mfa_enabled] logins of this account ask for a second factor
 * @property {boolean} [mfa_enrolment_required] a clinic requires two-factor and the user has
 *   not enrolled: every route but enrolment answers 403 `mfa_enrolment_required`
 */

/**
 * An appointment (`GET /api/clinics/{id}/appointments`, `agenda.updated` pushes; built by
 * `appointment_json` in src/actors/agenda.rs).
 * @typedef {object} Appointment
 * @property {string} id
 * @property {string} clinic_id
 * @property {string} professional_user_id
 * @property {string} professional_name
 * @property {string} patient_id
 * @property {string} patient_name the social name when there is one
 * @property {string|null} service_id
 * @property {string|null} service_name
 * @property {'in_person'|'teleconsultation'} kind
 * @property {string} status `scheduled`, `confirmed`, `checked_in`… (see agenda-util.js)
 * @property {string} starts_at RFC 3339, UTC
 * @property {string} ends_at RFC 3339, UTC
 * @property {string|null} notes
 * @property {string|null} cancel_reason
 * @property {string|null} hold_expires_at a waitlist hold's end
 * @property {string} clinic_name
 * @property {string} time_zone the clinic's IANA zone
 * @property {string} [payment_status] the staff agenda's merge of `GET …/payments` and
 *   `payment.updated` pushes: `pending`, `paid`, `partially_refunded`, `refunded`
 */

/**
 * A service a clinic offers (`GET /api/clinics/{id}/services`).
 * @typedef {object} Service
 * @property {string} id
 * @property {string} name
 * @property {number} duration_minutes
 * @property {number} price_cents
 * @property {number} [buffer_before_minutes]
 * @property {number} [buffer_after_minutes]
 * @property {string|null} [professional_user_id] null: any of the clinic's professionals
 * @property {boolean} [teleconsultation]
 * @property {boolean} [active]
 */

/**
 * A free slot (`GET …/slots`).
 * @typedef {object} Slot
 * @property {string} starts_at
 * @property {string} ends_at
 */

export {};
