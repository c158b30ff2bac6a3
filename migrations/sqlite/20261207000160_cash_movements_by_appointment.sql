-- An appointment's payments at the front desk count toward its payment status ("Pago"),
-- which the agenda reads per appointment.
CREATE INDEX cash_movements_appointment ON cash_movements (appointment_id)
    WHERE appointment_id IS NOT NULL;
