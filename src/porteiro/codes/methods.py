"""Open-door methods: the ``Method`` field of access-control events and records.

Source: the vendor's reference table ("Métodos de abertura de porta"), codes 0-47,
English text verbatim. Beyond the seed, the main Intelbras portal lists 10 and 16 as
reserved and 42 as "by DTMF (SIP INFO, RFC2833, INBAND)" (the CT 3000 portal leaves
the three out); they are included so that they decode as known.

Names list the factors in the seed's order: ``X_Y`` (or ``X_AND_Y`` for the two-factor
methods 22-25) means all of them together, ``X_OR_Y`` any one of them, ``X_THEN_Y``
in that order; ``_REMOTE`` marks the server-verified variants (43, 44) of the local
ones (14, 15). "ID card" is a citizen identity document, not an access card.
"""

from __future__ import annotations

from porteiro.codes._base import IntCode, register_texts

__all__ = ["OpenMethod"]


class OpenMethod(IntCode):
    """How the door was opened (or the opening was attempted)."""

    PASSWORD = 0
    CARD = 1
    CARD_THEN_PASSWORD = 2
    PASSWORD_THEN_CARD = 3
    REMOTE = 4
    EXIT_BUTTON = 5
    FINGERPRINT = 6
    PASSWORD_CARD_FINGERPRINT = 7
    PASSWORD_FINGERPRINT = 8
    CARD_FINGERPRINT = 9
    RESERVED_10 = 10
    MULTI_USER = 11
    KEY = 12
    DURESS_PASSWORD = 13
    QR_CODE = 14
    FACE = 15
    RESERVED_16 = 16
    ID_CARD = 17
    FACE_AND_ID_CARD = 18
    BLUETOOTH = 19
    CUSTOM_PASSWORD = 20
    USER_ID_AND_PASSWORD = 21
    FACE_AND_PASSWORD = 22
    FINGERPRINT_AND_PASSWORD = 23
    FINGERPRINT_AND_FACE = 24
    CARD_AND_FACE = 25
    FACE_OR_PASSWORD = 26
    FINGERPRINT_OR_PASSWORD = 27
    FINGERPRINT_OR_FACE = 28
    CARD_OR_FACE = 29
    CARD_OR_FINGERPRINT = 30
    FINGERPRINT_FACE_PASSWORD = 31
    CARD_FACE_PASSWORD = 32
    CARD_FINGERPRINT_PASSWORD = 33
    CARD_FINGERPRINT_FACE = 34
    FINGERPRINT_OR_FACE_OR_PASSWORD = 35
    CARD_OR_FACE_OR_PASSWORD = 36
    CARD_OR_FINGERPRINT_OR_FACE = 37
    CARD_FINGERPRINT_FACE_PASSWORD = 38
    CARD_OR_FINGERPRINT_OR_FACE_OR_PASSWORD = 39
    ID_CARD_AND_FACE_OR_CARD_OR_FACE = 40
    ID_CARD_OR_QR_CODE_OR_FACE = 41
    DTMF = 42
    QR_CODE_REMOTE = 43
    FACE_REMOTE = 44
    ID_CARD_FINGERPRINT = 45
    TEMPORARY_PASSWORD = 46
    HEALTH_CODE = 47


M = OpenMethod
register_texts(
    OpenMethod,
    {
        M.PASSWORD: ("by password", "por senha"),
        M.CARD: ("by access card", "por cartão de acesso"),
        M.CARD_THEN_PASSWORD: ("by access card and then password",
                               "por cartão de acesso e depois senha"),
        M.PASSWORD_THEN_CARD: ("by password and then access card",
                               "por senha e depois cartão de acesso"),
        M.REMOTE: ("by remote unlocking", "por abertura remota"),
        M.EXIT_BUTTON: ("by Exit Button", "pelo botão de saída"),
        M.FINGERPRINT: ("by fingerprint", "por digital"),
        M.PASSWORD_CARD_FINGERPRINT: ("by password and access card and fingerprint together",
                                      "por senha, cartão de acesso e digital juntos"),
        M.PASSWORD_FINGERPRINT: ("by password and fingerprint together",
                                 "por senha e digital juntas"),
        M.CARD_FINGERPRINT: ("by access card and fingerprint together",
                             "por cartão de acesso e digital juntos"),
        M.RESERVED_10: ("Reserved", "Reservado"),
        M.MULTI_USER: ("by multiple access user", "por múltiplos usuários"),
        M.KEY: ("by key", "por chave"),
        M.DURESS_PASSWORD: ("by duress password", "por senha de coação"),
        M.QR_CODE: ("by QR code, local", "por QR code, local"),
        M.FACE: ("by face recognition, local", "por reconhecimento facial, local"),
        M.RESERVED_16: ("Reserved", "Reservado"),
        M.ID_CARD: ("by ID card", "por documento de identidade"),
        M.FACE_AND_ID_CARD: ("by face and ID card", "por face e documento de identidade"),
        M.BLUETOOTH: ("by Bluetooth", "por Bluetooth"),
        M.CUSTOM_PASSWORD: ("by custom password", "por senha personalizada"),
        M.USER_ID_AND_PASSWORD: ("by UserId and password", "por ID de usuário e senha"),
        M.FACE_AND_PASSWORD: ("by face and password", "por face e senha"),
        M.FINGERPRINT_AND_PASSWORD: ("by fingerprint and password", "por digital e senha"),
        M.FINGERPRINT_AND_FACE: ("by fingerprint and face", "por digital e face"),
        M.CARD_AND_FACE: ("by access card and face", "por cartão de acesso e face"),
        M.FACE_OR_PASSWORD: ("by face or password", "por face ou senha"),
        M.FINGERPRINT_OR_PASSWORD: ("by fingerprint or password", "por digital ou senha"),
        M.FINGERPRINT_OR_FACE: ("by fingerprint or face", "por digital ou face"),
        M.CARD_OR_FACE: ("by access card or face", "por cartão de acesso ou face"),
        M.CARD_OR_FINGERPRINT: ("by access card or fingerprint",
                                "por cartão de acesso ou digital"),
        M.FINGERPRINT_FACE_PASSWORD: ("by fingerprint and face and password",
                                      "por digital, face e senha"),
        M.CARD_FACE_PASSWORD: ("by access card and face and password",
                               "por cartão de acesso, face e senha"),
        M.CARD_FINGERPRINT_PASSWORD: ("by access card and fingerprint and password",
                                      "por cartão de acesso, digital e senha"),
        M.CARD_FINGERPRINT_FACE: ("by access card and fingerprint and face",
                                  "por cartão de acesso, digital e face"),
        M.FINGERPRINT_OR_FACE_OR_PASSWORD: ("by fingerprint or face or password",
                                            "por digital, face ou senha"),
        M.CARD_OR_FACE_OR_PASSWORD: ("by access card or face or password",
                                     "por cartão de acesso, face ou senha"),
        M.CARD_OR_FINGERPRINT_OR_FACE: ("by access card or fingerprint or face",
                                        "por cartão de acesso, digital ou face"),
        M.CARD_FINGERPRINT_FACE_PASSWORD: (
            "by access card and fingerprint and face and password",
            "por cartão de acesso, digital, face e senha"),
        M.CARD_OR_FINGERPRINT_OR_FACE_OR_PASSWORD: (
            "by access card or fingerprint or face or password",
            "por cartão de acesso, digital, face ou senha"),
        M.ID_CARD_AND_FACE_OR_CARD_OR_FACE: (
            "by ID card and face, or access card or face",
            "por documento de identidade e face, ou cartão de acesso ou face"),
        M.ID_CARD_OR_QR_CODE_OR_FACE: ("by ID card or QR code or face",
                                       "por documento de identidade, QR code ou face"),
        M.DTMF: ("by DTMF (SIP INFO, RFC2833, INBAND)", "por DTMF (SIP INFO, RFC2833, INBAND)"),
        M.QR_CODE_REMOTE: ("by QR code, remote", "por QR code, remoto"),
        M.FACE_REMOTE: ("by face recognition, remote", "por reconhecimento facial, remoto"),
        M.ID_CARD_FINGERPRINT: ("by ID card (match with fingerprint in ID card)",
                                "por documento de identidade (digital do documento)"),
        M.TEMPORARY_PASSWORD: ("by temporary password", "por senha temporária"),
        M.HEALTH_CODE: ("by health code", "por código de saúde"),
    },
    unknown_en="unknown open method ({code})",
    unknown_pt="método de abertura desconhecido ({code})",
)
del M
