"""ASB Richtlinien-Assistent: answers staff questions from the association's released policy texts."""
