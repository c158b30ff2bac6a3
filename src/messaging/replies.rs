//! What a patient's text reply to a reminder asks for, whichever channel it came by
//! (WhatsApp text, SMS): confirm, cancel, or stop reminders on that channel.

/// What a patient's text reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Confirm,
    Cancel,
    /// Stop reminders on this channel ("PARAR", "SAIR").
    OptOut,
}

/// The command in a text reply: "1", "sim", "confirmo" confirm; "2", "cancelar" cancel;
/// "parar", "sair" opt out (case, accents, spaces and final punctuation aside); anything
/// else is no command.
pub fn command(text: &str) -> Option<Command> {
    let t: String = text
        .trim()
        .trim_end_matches(['.', '!', ' '])
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' => 'u',
            c => c,
        })
        .collect();
    match t.as_str() {
        "1" | "sim" | "confirmo" | "confirmar" => Some(Command::Confirm),
        "2" | "cancelar" | "cancelo" => Some(Command::Cancel),
        "parar" | "sair" => Some(Command::OptOut),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_become_commands_whatever_their_case_and_accents() {
        for t in ["1", "Sim", " SIM! ", "confirmo", "Confirmo."] {
            assert_eq!(command(t), Some(Command::Confirm), "{t}");
        }
        for t in ["2", "Cancelar", "CANCELAR"] {
            assert_eq!(command(t), Some(Command::Cancel), "{t}");
        }
        for t in ["PARAR", "sair", "Sair."] {
            assert_eq!(command(t), Some(Command::OptOut), "{t}");
        }
        for t in ["", "3", "sim, mas atraso", "olá"] {
            assert_eq!(command(t), None, "{t}");
        }
    }
}
