"""Request error codes: what newer firmware answers when an API call fails.

They arrive in JSON error envelopes (``{"code": 286064929, "message": ""}``) and in the
``detail.FailCodes`` of batch replies (see :mod:`porteiro.wire.errors`). Source: the
vendor's reference table ("Códigos de Erro Requests"), with the vendor's symbolic
name of each code kept as :attr:`RequestError.vendor_name`.

Resolutions (pinned by tests):

* **286064918** appears twice in the seed, as ``accessControlErrorNoMoreRecords``
  ("no more records") and as ``accessControlErrorDuplicateRecord`` ("the record
  already exists"). The 2860649xx block counts up (917 NoRecords, 918 NoMoreRecords,
  920 ExceedMaxFingerPrintsPerUser) leaving 919 free, and the seed's own last row
  says ``DUPLICATE_RECORD 286064919``. So 286064918 is :attr:`NO_MORE_RECORDS` and
  :attr:`DUPLICATE_RECORD` is 286064919; both vendor names of the latter resolve to it
  (``vendor_name`` gives the seed's ``DUPLICATE_RECORD`` row). The TypeScript table the
  reference cites agrees (919 = ``accessControlErrorDuplicateRecord``). The reference's
  other guess, that the first 918 is a typo for 917, is out: 917 has its own row.
* Vendor names with typos (``OBJECT_REATION_FAILED``, ``ADMIN_PASSOWRD_MUST_MODIFIED``)
  keep their spelling as ``vendor_name``; the member names are corrected.
* Beyond the seed, from bench measurements in the reference (single source):
  285278242 (unknown recordFinder table; no vendor name known), and two codes of the
  ``faceInfoManagerError`` block 288686080-288686110: 288686082 (a face sent for a
  UserID that does not exist; send the user first) and 288686087 (no face detected in
  the photo). Their vendor names (``faceInfoManagerErrorUserNotExist``,
  ``faceInfoManagerErrorDetectFaceNumZero``) come from the TypeScript error table the
  reference cites. The rest of that block is not named by the reference and decodes as
  unknown pseudo-members that keep the code.
* The member names drop the vendor prefix and say "EXISTS" throughout
  (``USER_ALREADY_EXISTS`` for ``accessControlErrorUserAlreadyExist``).

Policy sets are data: :data:`RETRYABLE`, :data:`AUTHENTICATION`,
:data:`ALREADY_EXISTS`, :data:`NOT_FOUND`, :data:`CAPACITY`. They are pairwise disjoint;
codes in none of them (invalid data, unsupported, internal component failures...) are
plain failures of that request.
"""

from __future__ import annotations

from porteiro.codes._base import IntCode, register_texts

__all__ = [
    "ALREADY_EXISTS",
    "AUTHENTICATION",
    "CAPACITY",
    "NOT_FOUND",
    "RETRYABLE",
    "RequestError",
    "from_vendor_name",
]


class RequestError(IntCode):
    """An error code a device returns for a failed request."""

    COMPONENT_INTERFACE_NOT_FOUND = 268632064
    COMPONENT_IMPLEMENT_CLASS_NOT_FOUND = 268632065
    CLIENT_COMPONENT_NOT_FOUND = 268632066
    CLIENT_INSTANCE_NOT_FOUND = 268632067
    NOT_LOGIN_YET = 268632068
    TRYING_NON_BLOCKING_LOGIN = 268632069
    USER_NAME_NOT_VALID = 268632070
    PASSWORD_NOT_VALID = 268632071
    PEER_HAS_BEEN_BLOCKED = 268632072
    PEER_IN_BLACKLIST = 268632073
    USER_NAME_HAS_BEEN_USED = 268632074
    TOO_MANY_CONNECTIONS = 268632075
    AUTHORITY_NOT_ENOUGH = 268632076
    OBJECT_CREATION_FAILED = 268632077
    GET_INSTANCE_FAILED = 268632078
    LOGIN_CHALLENGE = 268632079
    COMPONENT_METHOD_UNIMPLEMENTED = 268632080
    ACCOUNT_HAS_BEEN_LOCKED = 268632081
    LOGIN_CONNECT_FAILED = 268632082
    LOGIN_TIMEOUT = 268632083
    LOGIN_FAILURE = 268632084
    USERNAME_OR_PASSWORD_NOT_VALID = 268632085
    LOGIN_DATA_NOT_INITIALIZE = 268632086
    ADMIN_PASSWORD_MUST_BE_CHANGED = 268632087
    LOGIN_CONNECTION_TIMEOUT = 268632088
    PASSWORD_OVERDUE = 268632089
    BAD_REQUEST = 268632321
    INVALID_ARGS = 268632322
    IN_PROGRESS = 268632323
    UNKNOWN_ERROR = 268632324
    NO_RESOURCE = 268632325
    UNSUPPORTED = 268632326
    TIMEOUT = 268632327
    TOO_MANY_REQUESTS = 268632328
    REQUESTED_TOO_MUCH_DATA = 268632329
    BATCH_PROCESS_ERROR = 268632336
    OPERATION_CANCELLED = 268632337
    DEVICE_WARM_UP = 268632577
    DEVICE_INVALID = 268632578
    DEVICE_UNAVAILABLE = 268632579
    UNKNOWN_TABLE = 285278242
    INVALID_CREDENTIAL = 286064897
    INVALID_PASSWORD = 286064898
    INVALID_FINGERPRINT_DATA = 286064899
    INVALID_FACE_DATA = 286064900
    INVALID_CARD_DATA = 286064901
    INVALID_USER_DATA = 286064902
    GET_SUB_SERVICE_FAILED = 286064903
    GET_SERVICE_METHODS_FAILED = 286064904
    GET_SUB_CAPS_FAILED = 286064905
    EXCEED_MAX_CAPACITY = 286064912
    EXCEED_MAX_INSERT_RATE = 286064913
    ERASE_FINGERPRINT_FAILED = 286064914
    ERASE_FACE_FAILED = 286064915
    ERASE_CARD_FAILED = 286064916
    NO_RECORDS = 286064917
    NO_MORE_RECORDS = 286064918
    DUPLICATE_RECORD = 286064919
    EXCEED_MAX_FINGERPRINTS_PER_USER = 286064920
    EXCEED_MAX_CARDS_PER_USER = 286064921
    EXTRACT_FACE_EIGENVALUE_FAILED = 286064922
    MAX_PHOTO_FILE_SIZE_EXCEEDED = 286064923
    MAX_FACE_PHOTOS_EXCEEDED = 286064924
    RELEVANT_USER_NOT_FOUND = 286064925
    PHOTO_ALREADY_EXISTS = 286064926
    INVALID_PHOTO_FORMAT = 286064927
    EXCEED_MAX_MANAGER_USER = 286064928
    USER_ALREADY_EXISTS = 286064929
    CARD_ALREADY_EXISTS = 286064930
    FINGERPRINT_ALREADY_EXISTS = 286064931
    CITIZEN_ID_ALREADY_EXISTS = 286064932
    FINGERPRINT_DOWNLOAD_FAIL = 286064933
    NOT_SUPPORT_NORMAL_USER = 286064934
    ACCOUNT_IN_USE = 286064935
    FACE_USER_NOT_FOUND = 288686082
    FACE_NOT_DETECTED = 288686087

    @property
    def vendor_name(self) -> str | None:
        """The vendor's symbolic name (``accessControlErrorUserAlreadyExist``...).

        None for codes with no known vendor name (285278242 and unknown codes).
        """
        return _VENDOR_NAMES.get(self.value)


R = RequestError
register_texts(
    RequestError,
    {
        R.COMPONENT_INTERFACE_NOT_FOUND: (
            "Component interface not found",
            "Interface de componente não encontrada",
        ),
        R.COMPONENT_IMPLEMENT_CLASS_NOT_FOUND: (
            "Component implementation class not found",
            "Classe de implementação do componente não encontrada",
        ),
        R.CLIENT_COMPONENT_NOT_FOUND: (
            "Required client component not found",
            "Componente cliente necessário não encontrado",
        ),
        R.CLIENT_INSTANCE_NOT_FOUND: (
            "Client instance does not exist",
            "Instância de cliente não existe",
        ),
        R.NOT_LOGIN_YET: ("No login", "Não autenticado"),
        R.TRYING_NON_BLOCKING_LOGIN: (
            "Non-blocking login, trying",
            "Login não bloqueante em andamento",
        ),
        R.USER_NAME_NOT_VALID: ("Invalid username", "Nome de usuário inválido"),
        R.PASSWORD_NOT_VALID: ("Invalid password", "Senha inválida"),
        R.PEER_HAS_BEEN_BLOCKED: ("Address blocked", "Endereço bloqueado"),
        R.PEER_IN_BLACKLIST: ("Address in blacklist", "Endereço na lista de bloqueio"),
        R.USER_NAME_HAS_BEEN_USED: (
            "Username is already in use and cannot be reused",
            "Nome de usuário já em uso",
        ),
        R.TOO_MANY_CONNECTIONS: (
            "Exceeded the maximum number of user connections",
            "Número máximo de conexões de usuário excedido",
        ),
        R.AUTHORITY_NOT_ENOUGH: (
            "No corresponding operation permission",
            "Sem permissão para esta operação",
        ),
        R.OBJECT_CREATION_FAILED: (
            "Component factory failed to create object",
            "Falha da fábrica de componentes ao criar objeto",
        ),
        R.GET_INSTANCE_FAILED: (
            "Component factory failed to obtain instance",
            "Falha da fábrica de componentes ao obter instância",
        ),
        R.LOGIN_CHALLENGE: (
            "Login challenge, need to log in again according to the returned random string",
            "Desafio de login: autentique novamente com o valor aleatório retornado",
        ),
        R.COMPONENT_METHOD_UNIMPLEMENTED: (
            "Component interface method not implemented",
            "Método da interface do componente não implementado",
        ),
        R.ACCOUNT_HAS_BEEN_LOCKED: ("Account locked", "Conta bloqueada"),
        R.LOGIN_CONNECT_FAILED: (
            "Network connection failed during login",
            "Falha de conexão de rede durante o login",
        ),
        R.LOGIN_TIMEOUT: (
            "Login connection successful, but response timed out",
            "Login conectado, mas a resposta não chegou a tempo",
        ),
        R.LOGIN_FAILURE: ("Login failed, reason unknown", "Falha no login, motivo desconhecido"),
        R.USERNAME_OR_PASSWORD_NOT_VALID: (
            "Login failed, username or password incorrect (replaces error code 6, 7)",
            "Falha no login: usuário ou senha incorretos",
        ),
        R.LOGIN_DATA_NOT_INITIALIZE: (
            "Login failed, no user initialized",
            "Falha no login: nenhum usuário inicializado",
        ),
        R.ADMIN_PASSWORD_MUST_BE_CHANGED: (
            "Login failed, admin user needs to change password by force",
            "Falha no login: o administrador precisa trocar a senha",
        ),
        R.LOGIN_CONNECTION_TIMEOUT: (
            "Login connection timed out",
            "Tempo de conexão do login esgotado",
        ),
        R.PASSWORD_OVERDUE: (
            "Login failed, password validity expired",
            "Falha no login: validade da senha expirada",
        ),
        R.BAD_REQUEST: (
            ("The state machine of the device, in the C state, the device does not accept"
             " the service requests that are only available in the B state."),
            "Requisição não aceita no estado atual do dispositivo",
        ),
        R.INVALID_ARGS: (
            "The parameter value, quantity, type, range, etc. do not meet the requirements",
            "Parâmetros inválidos (valor, quantidade, tipo ou faixa)",
        ),
        R.IN_PROGRESS: (
            "The business is being processed, and repeated business requests are not accepted.",
            "Operação em andamento; requisições repetidas não são aceitas",
        ),
        R.UNKNOWN_ERROR: (
            "An unknown error occurred during business processing",
            "Erro desconhecido durante o processamento",
        ),
        R.NO_RESOURCE: (
            "Insufficient resources during processing of business requests",
            "Recursos insuficientes para processar a requisição",
        ),
        R.UNSUPPORTED: (
            "This service is currently not supported",
            "Serviço não suportado no momento",
        ),
        R.TIMEOUT: ("Business processing timed out", "Tempo de processamento esgotado"),
        R.TOO_MANY_REQUESTS: ("Too many business requests issued", "Requisições demais enviadas"),
        R.REQUESTED_TOO_MUCH_DATA: (
            "Too much data was fetched for the device to process",
            "Dados demais solicitados para o dispositivo processar",
        ),
        R.BATCH_PROCESS_ERROR: (
            "An error occurred during the batch execution of the business",
            "Erro na execução do lote",
        ),
        R.OPERATION_CANCELLED: ("For some reason, the business was canceled", "Operação cancelada"),
        R.DEVICE_WARM_UP: (
            "The device is not ready for business processing",
            "Dispositivo ainda não está pronto (inicializando)",
        ),
        R.DEVICE_INVALID: (
            ("The device model is incorrect or due to customization, so that further"
             " processing cannot be performed"),
            "Modelo de dispositivo incorreto ou personalizado; não é possível prosseguir",
        ),
        R.DEVICE_UNAVAILABLE: (
            "Unable to get device status information",
            "Não foi possível obter o estado do dispositivo",
        ),
        R.UNKNOWN_TABLE: (
            "Unknown record table (seen for an unknown recordFinder table name)",
            "Tabela de registros desconhecida (nome de tabela inválido no recordFinder)",
        ),
        R.INVALID_CREDENTIAL: ("Invalid credentials", "Credencial inválida"),
        R.INVALID_PASSWORD: ("Wrong password", "Senha incorreta"),
        R.INVALID_FINGERPRINT_DATA: (
            "The issued fingerprint data is wrong",
            "Dados de digital enviados incorretos",
        ),
        R.INVALID_FACE_DATA: ("The issued face data is wrong", "Dados de face enviados incorretos"),
        R.INVALID_CARD_DATA: (
            "The issued card data is incorrect",
            "Dados de cartão enviados incorretos",
        ),
        R.INVALID_USER_DATA: (
            "The issued user data is wrong",
            "Dados de usuário enviados incorretos",
        ),
        R.GET_SUB_SERVICE_FAILED: (
            "Failed to get capability set sub-service",
            "Falha ao obter o subserviço do conjunto de capacidades",
        ),
        R.GET_SERVICE_METHODS_FAILED: (
            "Failed to get service method",
            "Falha ao obter o método do serviço",
        ),
        R.GET_SUB_CAPS_FAILED: (
            "Failed to get sub-capability set",
            "Falha ao obter o subconjunto de capacidades",
        ),
        R.EXCEED_MAX_CAPACITY: (
            "Exceeds the maximum capacity of the device",
            "Capacidade máxima do dispositivo excedida",
        ),
        R.EXCEED_MAX_INSERT_RATE: (
            "The maximum insertion speed allowed by the device has been reached",
            "Velocidade máxima de inserção do dispositivo atingida",
        ),
        R.ERASE_FINGERPRINT_FAILED: (
            "Fingerprint data purge failed when deleting users",
            "Falha ao apagar as digitais ao excluir usuários",
        ),
        R.ERASE_FACE_FAILED: (
            "Face data purging fails when deleting users",
            "Falha ao apagar as faces ao excluir usuários",
        ),
        R.ERASE_CARD_FAILED: (
            "Card data purging fails when deleting users",
            "Falha ao apagar os cartões ao excluir usuários",
        ),
        R.NO_RECORDS: ("Record does not exist", "Registro não existe"),
        R.NO_MORE_RECORDS: ("No more records", "Não há mais registros"),
        R.DUPLICATE_RECORD: (
            "When issuing card or fingerprint data, the record already exists",
            "Ao enviar dados de cartão ou digital, o registro já existe",
        ),
        R.EXCEED_MAX_FINGERPRINTS_PER_USER: (
            "Exceeds the maximum number of fingerprints that an user can enroll",
            "Número máximo de digitais por usuário excedido",
        ),
        R.EXCEED_MAX_CARDS_PER_USER: (
            "Exceeds the maximum number of cards that an user can enroll",
            "Número máximo de cartões por usuário excedido",
        ),
        R.EXTRACT_FACE_EIGENVALUE_FAILED: (
            "Failed to extract face feature value",
            "Falha ao extrair as características da face",
        ),
        R.MAX_PHOTO_FILE_SIZE_EXCEEDED: (
            "Maximum file size limit exceeded",
            "Tamanho máximo de arquivo excedido",
        ),
        R.MAX_FACE_PHOTOS_EXCEEDED: (
            "Exceeded maximum number of face photos",
            "Número máximo de fotos de face excedido",
        ),
        R.RELEVANT_USER_NOT_FOUND: (
            "The User corresponding to the data does not exist",
            "O usuário correspondente aos dados não existe",
        ),
        R.PHOTO_ALREADY_EXISTS: ("Photo already exists", "A foto já existe"),
        R.INVALID_PHOTO_FORMAT: (
            "The photo is in the wrong format, such as the wrong header of the jpg file",
            "Formato de foto inválido (por exemplo, cabeçalho JPG incorreto)",
        ),
        R.EXCEED_MAX_MANAGER_USER: (
            "Exceeded maximum number of administrators",
            "Número máximo de administradores excedido",
        ),
        R.USER_ALREADY_EXISTS: ("User already exists", "Usuário já existe"),
        R.CARD_ALREADY_EXISTS: ("Card number already exists", "Número de cartão já existe"),
        R.FINGERPRINT_ALREADY_EXISTS: ("Fingerprint already exists", "Digital já existe"),
        R.CITIZEN_ID_ALREADY_EXISTS: (
            "Citizen ID number already exists",
            "Número de documento (CPF/RG) já existe",
        ),
        R.FINGERPRINT_DOWNLOAD_FAIL: (
            "Failed to download fingerprint through URL download method",
            "Falha ao baixar a digital pela URL",
        ),
        R.NOT_SUPPORT_NORMAL_USER: (
            "Does not support issue ordinary users",
            "Não suporta cadastrar usuários comuns",
        ),
        R.ACCOUNT_IN_USE: ("Account is logging in", "Conta em processo de login"),
        R.FACE_USER_NOT_FOUND: (
            "User ID does not exist; send the user before the photo",
            "O ID de usuário não existe; cadastre o usuário antes da foto",
        ),
        R.FACE_NOT_DETECTED: ("No face detected in the photo", "Nenhuma face detectada na foto"),
    },
    unknown_en="Unknown request error ({code})",
    unknown_pt="Erro de requisição desconhecido ({code})",
)

_VENDOR_NAMES: dict[int, str] = {
    R.COMPONENT_INTERFACE_NOT_FOUND.value: "COMPONENT_INTERFACE_NOT_FOUND",
    R.COMPONENT_IMPLEMENT_CLASS_NOT_FOUND.value: "COMPONENT_IMPLEMENT_CLASS_NOT_FOUND",
    R.CLIENT_COMPONENT_NOT_FOUND.value: "CLIENT_COMPONENT_NOT_FOUND",
    R.CLIENT_INSTANCE_NOT_FOUND.value: "CLIENT_INSTANCE_NOT_FOUND",
    R.NOT_LOGIN_YET.value: "NOT_LOGIN_YET",
    R.TRYING_NON_BLOCKING_LOGIN.value: "TRYING_NON_BLOCKING_LOGIN",
    R.USER_NAME_NOT_VALID.value: "USER_NAME_NOT_VALID",
    R.PASSWORD_NOT_VALID.value: "PASSWORD_NOT_VALID",
    R.PEER_HAS_BEEN_BLOCKED.value: "PEER_HAS_BEEN_BLOCKED",
    R.PEER_IN_BLACKLIST.value: "PEER_IN_BLACKLIST",
    R.USER_NAME_HAS_BEEN_USED.value: "USER_NAME_HAS_BEEN_USED",
    R.TOO_MANY_CONNECTIONS.value: "TOO_MANY_CONNECTIONS",
    R.AUTHORITY_NOT_ENOUGH.value: "AUTHORITY_NOT_ENOUGH",
    R.OBJECT_CREATION_FAILED.value: "OBJECT_REATION_FAILED",
    R.GET_INSTANCE_FAILED.value: "GET_INSTANCE_FAILED",
    R.LOGIN_CHALLENGE.value: "LOGIN_CHALLENGE",
    R.COMPONENT_METHOD_UNIMPLEMENTED.value: "COMPONENT_METHOD_UNIMPLEMENTED",
    R.ACCOUNT_HAS_BEEN_LOCKED.value: "ACCOUNT_HAS_BEEN_LOCKED",
    R.LOGIN_CONNECT_FAILED.value: "LOGIN_CONNECT_FAILED",
    R.LOGIN_TIMEOUT.value: "LOGIN_TIMEOUT",
    R.LOGIN_FAILURE.value: "LOGIN_FAILURE",
    R.USERNAME_OR_PASSWORD_NOT_VALID.value: "USERNAME_OR_PASSWORD_NOT_VALID",
    R.LOGIN_DATA_NOT_INITIALIZE.value: "LOGIN_DATA_NOT_INITIALIZE",
    R.ADMIN_PASSWORD_MUST_BE_CHANGED.value: "ADMIN_PASSOWRD_MUST_MODIFIED",
    R.LOGIN_CONNECTION_TIMEOUT.value: "LOGIN_CONNECTION_TIMEOUT",
    R.PASSWORD_OVERDUE.value: "PASSWORD_OVERDUE",
    R.BAD_REQUEST.value: "businessCommonErrorBadRequest",
    R.INVALID_ARGS.value: "businessCommonErrorInvalidArgs",
    R.IN_PROGRESS.value: "businessCommonErrorInProgress",
    R.UNKNOWN_ERROR.value: "businessCommonErrorUnKnownError",
    R.NO_RESOURCE.value: "businessCommonErrorNoResource",
    R.UNSUPPORTED.value: "businessCommonErrorUnSupported",
    R.TIMEOUT.value: "businessCommonErrorTimeout",
    R.TOO_MANY_REQUESTS.value: "businessCommonErrorTooManyRequests",
    R.REQUESTED_TOO_MUCH_DATA.value: "businessCommonErrorRequestedTooMuchData",
    R.BATCH_PROCESS_ERROR.value: "businessCommonErrorBatchProcessError",
    R.OPERATION_CANCELLED.value: "businessCommonErrorOperationCancelled",
    R.DEVICE_WARM_UP.value: "businessCommonErrorDeviceWarmUP",
    R.DEVICE_INVALID.value: "businessCommonErrorDeviceInvalid",
    R.DEVICE_UNAVAILABLE.value: "businessCommonErrorDeviceUnavailable",
    R.INVALID_CREDENTIAL.value: "accessControlErrorInvalidCredential",
    R.INVALID_PASSWORD.value: "accessControlErrorInvalidPassword",
    R.INVALID_FINGERPRINT_DATA.value: "accessControlErrorInvalidFingerprintData",
    R.INVALID_FACE_DATA.value: "accessControlErrorInvalidFaceData",
    R.INVALID_CARD_DATA.value: "accessControlErrorInvalidCardData",
    R.INVALID_USER_DATA.value: "accessControlErrorInvalidUserData",
    R.GET_SUB_SERVICE_FAILED.value: "accessControlErrorGetSubServiceFailed",
    R.GET_SERVICE_METHODS_FAILED.value: "accessControlErrorGetServiceMethodsFailed",
    R.GET_SUB_CAPS_FAILED.value: "accessControlErrorGetSubCapsFailed",
    R.EXCEED_MAX_CAPACITY.value: "accessControlErrorExceedMaxCapacity",
    R.EXCEED_MAX_INSERT_RATE.value: "accessControlErrorExceedMaxInsertRate",
    R.ERASE_FINGERPRINT_FAILED.value: "accessControlErrorEraseFingerprintFailed",
    R.ERASE_FACE_FAILED.value: "accessControlErrorEraseFaceFailed",
    R.ERASE_CARD_FAILED.value: "accessControlErrorEraseCardFailed",
    R.NO_RECORDS.value: "accessControlErrorNoRecords",
    R.NO_MORE_RECORDS.value: "accessControlErrorNoMoreRecords",
    R.DUPLICATE_RECORD.value: "DUPLICATE_RECORD",
    R.EXCEED_MAX_FINGERPRINTS_PER_USER.value: "accessControlErrorExceedMaxFingerPrintsPerUser",
    R.EXCEED_MAX_CARDS_PER_USER.value: "accessControlErrorExceedMaxCardsPerUser",
    R.EXTRACT_FACE_EIGENVALUE_FAILED.value: "accessControlErrorExtractFaceEigenvalueFailed",
    R.MAX_PHOTO_FILE_SIZE_EXCEEDED.value: "accessControlErrorMaxPhotoFileSizeExceeded",
    R.MAX_FACE_PHOTOS_EXCEEDED.value: "accessControlErrorMaxFacePhotosExceeded",
    R.RELEVANT_USER_NOT_FOUND.value: "accessControlErrorRelevantUserNotFound",
    R.PHOTO_ALREADY_EXISTS.value: "accessControlErrorPhotoAlreadyExist",
    R.INVALID_PHOTO_FORMAT.value: "accessControlErrorInvalidPhotoFormat",
    R.EXCEED_MAX_MANAGER_USER.value: "accessControlErrorExceedMaxManagerUser",
    R.USER_ALREADY_EXISTS.value: "accessControlErrorUserAlreadyExist",
    R.CARD_ALREADY_EXISTS.value: "accessControlErrorCardAlreadyExist",
    R.FINGERPRINT_ALREADY_EXISTS.value: "accessControlErrorFingerprintAlreadyExist",
    R.CITIZEN_ID_ALREADY_EXISTS.value: "accessControlErrorCitizenIDNoAlreadyExist",
    R.FINGERPRINT_DOWNLOAD_FAIL.value: "accessControlErrorFingerprintDownloadFail",
    R.NOT_SUPPORT_NORMAL_USER.value: "accessControlErrorNotSupportNormalUser",
    R.ACCOUNT_IN_USE.value: "accessControlErrorAccountInUse",
    R.FACE_USER_NOT_FOUND.value: "faceInfoManagerErrorUserNotExist",
    R.FACE_NOT_DETECTED.value: "faceInfoManagerErrorDetectFaceNumZero",
}
_BY_VENDOR_NAME: dict[str, RequestError] = {
    **{vendor.lower(): RequestError(code) for code, vendor in _VENDOR_NAMES.items()},
    # The seed's second name for 286064919 (listed there under 286064918; see above).
    "accesscontrolerrorduplicaterecord": R.DUPLICATE_RECORD,
}


def from_vendor_name(name: str) -> RequestError | None:
    """The member for a vendor symbolic name (any case), or None."""
    return _BY_VENDOR_NAME.get(name.strip().lower())


RETRYABLE: frozenset[RequestError] = frozenset({
    R.IN_PROGRESS,  # busy with the same business: try again shortly
    R.TOO_MANY_REQUESTS,  # rate limit
    R.EXCEED_MAX_INSERT_RATE,  # insert rate limit: slow down and resend
    R.DEVICE_WARM_UP,  # still booting
    R.TIMEOUT,  # the device timed out internally; the request itself was fine
    R.NO_RESOURCE,  # momentarily short of resources
    R.TRYING_NON_BLOCKING_LOGIN,  # login still in progress
    R.LOGIN_CONNECT_FAILED,  # network trouble during login
    R.LOGIN_TIMEOUT,  # login answered too late
    R.LOGIN_CONNECTION_TIMEOUT,  # login connection timed out
    R.TOO_MANY_CONNECTIONS,  # a slot frees up when another session ends
    R.ACCOUNT_IN_USE,  # the account is mid-login elsewhere
    R.DEVICE_UNAVAILABLE,  # device status momentarily unavailable
})
"""Worth retrying with backoff: the request was valid, the device was not ready for it."""

AUTHENTICATION: frozenset[RequestError] = frozenset({
    R.NOT_LOGIN_YET, R.USER_NAME_NOT_VALID, R.PASSWORD_NOT_VALID, R.PEER_HAS_BEEN_BLOCKED,
    R.PEER_IN_BLACKLIST, R.LOGIN_CHALLENGE, R.ACCOUNT_HAS_BEEN_LOCKED, R.LOGIN_FAILURE,
    R.USERNAME_OR_PASSWORD_NOT_VALID, R.LOGIN_DATA_NOT_INITIALIZE,
    R.ADMIN_PASSWORD_MUST_BE_CHANGED, R.PASSWORD_OVERDUE,
    # Authorisation rather than authentication, but the cure is the same: another
    # account (or more rights for this one), not a retry.
    R.AUTHORITY_NOT_ENOUGH,
})
"""Credentials or permissions refused: fix the account, do not retry blindly."""

ALREADY_EXISTS: frozenset[RequestError] = frozenset({
    R.DUPLICATE_RECORD, R.PHOTO_ALREADY_EXISTS, R.USER_ALREADY_EXISTS, R.CARD_ALREADY_EXISTS,
    R.FINGERPRINT_ALREADY_EXISTS, R.CITIZEN_ID_ALREADY_EXISTS, R.USER_NAME_HAS_BEEN_USED,
})
"""The item is already there (an update, not an insert, is what was wanted)."""

NOT_FOUND: frozenset[RequestError] = frozenset({
    R.NO_RECORDS, R.NO_MORE_RECORDS, R.RELEVANT_USER_NOT_FOUND, R.FACE_USER_NOT_FOUND,
    R.UNKNOWN_TABLE,  # the record table named in the request does not exist
})
"""What the request refers to does not exist."""

CAPACITY: frozenset[RequestError] = frozenset({
    R.EXCEED_MAX_CAPACITY, R.EXCEED_MAX_FINGERPRINTS_PER_USER, R.EXCEED_MAX_CARDS_PER_USER,
    R.MAX_FACE_PHOTOS_EXCEEDED, R.EXCEED_MAX_MANAGER_USER, R.REQUESTED_TOO_MUCH_DATA,
    R.MAX_PHOTO_FILE_SIZE_EXCEEDED,
})
"""A limit of the device was reached (storage, per-user counts, sizes)."""

del R
